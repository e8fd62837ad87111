use hearth_leptos::{Chat, EngineOptions, GenerateOptions, ModelLoader, use_llama_chat};
use leptos::prelude::*;

/// A URL query parameter (`?model=…&maxTokens=…`).
fn query(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(name)
}

#[component]
fn App() -> impl IntoView {
    let model = query("model").unwrap_or("/models/SmolLM2-135M-Instruct.Q4_1.gguf".into());
    let max_tokens = query("maxTokens")
        .and_then(|n| n.parse().ok())
        .unwrap_or(256);
    let chat = use_llama_chat(EngineOptions {
        worker_url: "./worker.js".into(),
        generate: GenerateOptions {
            max_tokens,
            ..Default::default()
        },
        ..Default::default()
    });
    view! {
        <main>
            <h1>"Hearth × Leptos"</h1>
            <ModelLoader engine=chat.engine url=model />
            <Chat chat=chat />
        </main>
    }
}

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
