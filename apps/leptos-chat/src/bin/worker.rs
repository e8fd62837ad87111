//! The engine worker: `dist/worker.js`, spawned by the page.

fn main() {
    hearth_leptos::run_worker();
}
