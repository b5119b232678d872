use agenttrust_runtime::guarded;

#[derive(Debug)]
struct ToolError;

// The async forms check the return type through the runtime call itself:
// the error still lands on the return type, once per fn.
#[guarded(effect = "read")]
async fn search(query: &str) -> Result<String, ToolError> {
    Ok(query.to_uppercase())
}

#[guarded(effect = "read")]
async fn fetch(url: String) -> Result<String, ToolError> {
    Ok(url)
}

trait Lookup {
    fn lookup(&self) -> impl std::future::Future<Output = Result<u32, ToolError>> + Send;
}

struct Index;

impl Lookup for Index {
    #[guarded(effect = "read")]
    fn lookup(&self) -> impl std::future::Future<Output = Result<u32, ToolError>> + Send {
        async move { Ok(1) }
    }
}

fn main() {
    let _ = search("x");
    let _ = fetch(String::new());
    let _ = Index.lookup();
}
