use agenttrust_runtime::guarded;

#[guarded(effect = "destructive")]
fn delete_file(path: &str) {
    let _ = path;
}

fn main() {
    delete_file("/tmp/x");
}
