use agenttrust_runtime::guarded;

#[guarded(effect = "read")]
struct Search {
    query: String,
}

fn main() {
    let s = Search { query: String::new() };
    let _ = s.query;
}
