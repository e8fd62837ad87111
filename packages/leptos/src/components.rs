//! Ready-made components over the hooks. They carry the `data-testid`s of
//! the demos' DOM contract (`load`, `status`, `progress`, `error`, `input`,
//! `send`, `stop`, `message` with `data-role`) and plain class names to style.

use leptos::prelude::*;

use crate::hooks::{Engine, LlamaChat, LlamaCompletion};
use crate::state::Status;

/// A button that loads `url`, the engine's status, a `<progress>` bar while
/// the model downloads (bytes), and the error, if any, with its code.
#[component]
pub fn ModelLoader(
    /// The engine to load into (`chat.engine`, `completion.engine`).
    engine: Engine,
    /// The GGUF model's URL.
    #[prop(into)]
    url: Signal<String>,
    /// The button's label.
    #[prop(into, default = "Load model".into())]
    label: Signal<String>,
) -> impl IntoView {
    let busy = move || matches!(engine.status.get(), Status::Loading | Status::Generating);
    view! {
        <div class="hearth-loader">
            <button data-testid="load" on:click=move |_| engine.load(url.get_untracked()) disabled=busy>
                {label}
            </button>
            <span class="hearth-status" data-testid="status">
                {move || engine.status.get().as_str()}
            </span>
            <Show when=move || engine.status.get() == Status::Loading>
                {move || {
                    let p = engine.progress.get();
                    let loaded = p.map_or(0, |p| p.loaded) as f64;
                    let total = p.and_then(|p| p.total).map(|t| t as f64);
                    view! {
                        <progress
                            data-testid="progress"
                            max=total.unwrap_or(1.0)
                            value=total.map(|_| loaded)
                        ></progress>
                        <span class="hearth-progress-text">
                            {format!("{:.1} MB", loaded / 1e6)}
                        </span>
                    }
                }}
            </Show>
            {move || {
                engine
                    .error
                    .get()
                    .map(|e| {
                        view! {
                            <p class="hearth-error" data-testid="error" role="alert">
                                {e.to_string()}
                                " ("
                                <code>{e.code().to_string()}</code>
                                ")"
                            </p>
                        }
                    })
            }}
        </div>
    }
}

/// The conversation (one `message` element per message, the answer growing
/// token by token), a textarea (Enter sends, Shift+Enter is a new line), Send and Stop.
#[component]
pub fn Chat(
    chat: LlamaChat,
    /// The textarea's placeholder.
    #[prop(into, default = "Ask something…".into())]
    placeholder: Signal<String>,
) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let submit = move || {
        let text = draft.get_untracked();
        if !text.trim().is_empty() && chat.engine.can_generate.get_untracked() {
            chat.send(text);
            draft.set(String::new());
        }
    };
    let message = move |i: usize| {
        let role = move || chat.messages.with(|m| m.get(i).map(|m| m.role.as_str()));
        let text = move || chat.messages.with(|m| m.get(i).map(|m| m.content.clone()));
        view! {
            <li class="hearth-message" data-testid="message" data-role=role>
                {text}
            </li>
        }
    };
    view! {
        <div class="hearth-chat">
            <ol class="hearth-messages">
                <For each=move || 0..chat.messages.with(Vec::len) key=|i| *i children=message />
            </ol>
            <form
                class="hearth-compose"
                on:submit=move |ev| {
                    ev.prevent_default();
                    submit();
                }
            >
                <textarea
                    data-testid="input"
                    placeholder=placeholder
                    prop:value=draft
                    on:input=move |ev| draft.set(event_target_value(&ev))
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Enter" && !ev.shift_key() {
                            ev.prevent_default();
                            submit();
                        }
                    }
                ></textarea>
                <button type="submit" data-testid="send" disabled=move || !chat.engine.can_generate.get()>
                    "Send"
                </button>
                <button
                    type="button"
                    data-testid="stop"
                    on:click=move |_| chat.stop()
                    disabled=move || chat.status.get() != Status::Generating
                >
                    "Stop"
                </button>
            </form>
        </div>
    }
}

/// A prompt, a Complete button, Stop, and the continuation as it streams.
#[component]
pub fn Completion(completion: LlamaCompletion) -> impl IntoView {
    let prompt = RwSignal::new(String::new());
    view! {
        <div class="hearth-completion">
            <textarea
                data-testid="completion-prompt"
                prop:value=prompt
                on:input=move |ev| prompt.set(event_target_value(&ev))
            ></textarea>
            <button
                data-testid="complete"
                on:click=move |_| completion.complete(prompt.get_untracked())
                disabled=move || !completion.engine.can_generate.get()
            >
                "Complete"
            </button>
            <button
                data-testid="completion-stop"
                on:click=move |_| completion.stop()
                disabled=move || completion.engine.status.get() != Status::Generating
            >
                "Stop"
            </button>
            <p class="hearth-completion-text" data-testid="completion">
                <span class="hearth-prompt">{prompt}</span>
                <span class="hearth-continuation">{completion.completion}</span>
            </p>
        </div>
    }
}
