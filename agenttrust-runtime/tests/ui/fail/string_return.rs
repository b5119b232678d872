use agenttrust_runtime::guarded;

#[guarded(effect = "read")]
fn search(query: &str) -> String {
    query.to_uppercase()
}

fn main() {
    let _ = search("x");
}
