//! The state machines behind the hooks, free of any browser API so they are
//! tested on the host: what a request does to the state before it goes to the
//! worker, and what each worker response does when it comes back.

use std::fmt;

use hearth_core::GenerateOptions;
use serde::{Deserialize, Serialize};

use crate::protocol::{ChatMessage, HearthError, LoadProgress, ModelInfo, Request, Response, Role};

/// Where an engine is: the values of the demos' `status` element.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// No model yet.
    #[default]
    Idle,
    /// Downloading and building the model.
    Loading,
    /// A model is loaded and nothing is generating.
    Ready,
    /// A generation is streaming.
    Generating,
    /// The last load or generation failed (see the error).
    Error,
}

impl Status {
    /// `idle`, `loading`, `ready`, `generating` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Idle => "idle",
            Status::Loading => "loading",
            Status::Ready => "ready",
            Status::Generating => "generating",
            Status::Error => "error",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One engine's state as the page sees it: the model side of every hook.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EngineState {
    pub status: Status,
    /// Download progress of the current (or last) load.
    pub progress: Option<LoadProgress>,
    pub error: Option<HearthError>,
    /// The loaded model, if any.
    pub info: Option<ModelInfo>,
    /// The generation whose tokens are shown; later tokens of a stopped job are dropped.
    running: Option<u32>,
    last_job: u32,
}

impl EngineState {
    /// Starts loading `url`: the request to send, or why not now.
    pub fn load(&mut self, url: &str, n_ctx: u32) -> Result<Request, HearthError> {
        match self.status {
            Status::Loading => return Err(HearthError::Busy("a model is loading".into())),
            Status::Generating => return Err(HearthError::Busy("a generation is running".into())),
            _ => {}
        }
        self.status = Status::Loading;
        self.progress = None;
        self.error = None;
        self.info = None;
        Ok(Request::Load {
            url: url.to_string(),
            n_ctx,
        })
    }

    /// Whether a generation can start now (a model is loaded, nothing runs).
    pub fn can_generate(&self) -> bool {
        self.info.is_some() && matches!(self.status, Status::Ready | Status::Error)
    }

    /// Starts a generation: its job id, or why not now.
    pub fn begin_job(&mut self) -> Result<u32, HearthError> {
        if !self.can_generate() {
            return Err(match self.status {
                Status::Loading => HearthError::Busy("a model is loading".into()),
                Status::Generating => HearthError::Busy("a generation is running".into()),
                _ => HearthError::NotLoaded,
            });
        }
        self.last_job += 1;
        self.running = Some(self.last_job);
        self.status = Status::Generating;
        self.error = None;
        Ok(self.last_job)
    }

    /// Stops showing the running generation (the page is `ready` at once);
    /// returns whether a [`Request::Stop`] must go to the worker.
    pub fn stop(&mut self) -> bool {
        if self.running.take().is_some() {
            self.status = Status::Ready;
            true
        } else {
            false
        }
    }

    /// Records an error raised on the page side (not by the worker).
    pub fn fail(&mut self, error: HearthError) {
        self.error = Some(error);
    }

    /// Applies a worker response; returns text to append to the running job's output.
    pub fn apply(&mut self, response: Response) -> Option<String> {
        match response {
            Response::Progress(p) if self.status == Status::Loading => self.progress = Some(p),
            Response::Loaded(info) if self.status == Status::Loading => {
                self.info = Some(info);
                self.status = Status::Ready;
            }
            Response::Token { job, text } if self.running == Some(job) => return Some(text),
            Response::Finished { job, .. } if self.running == Some(job) => {
                self.running = None;
                self.status = Status::Ready;
            }
            Response::Failed { job: None, error } if self.status == Status::Loading => {
                self.status = Status::Error;
                self.error = Some(error);
            }
            Response::Failed {
                job: Some(job),
                error,
            } if self.running == Some(job) => {
                self.running = None;
                self.status = Status::Error;
                self.error = Some(error);
            }
            // Anything else belongs to a stopped job or a superseded load.
            _ => {}
        }
        None
    }
}

/// A chat: the engine plus the conversation shown.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChatState {
    pub engine: EngineState,
    pub messages: Vec<ChatMessage>,
}

impl ChatState {
    /// Appends the user's `text` and an empty assistant message that the
    /// answer streams into; returns the request for the worker.
    pub fn send(&mut self, text: &str, options: &GenerateOptions) -> Result<Request, HearthError> {
        let job = self.engine.begin_job()?;
        self.messages.push(ChatMessage::new(Role::User, text));
        let request = Request::Chat {
            job,
            messages: self.messages.clone(),
            options: options.clone(),
        };
        self.messages.push(ChatMessage::new(Role::Assistant, ""));
        Ok(request)
    }

    /// Applies a worker response (tokens go into the last assistant message).
    pub fn apply(&mut self, response: Response) {
        if let Some(text) = self.engine.apply(response)
            && let Some(last) = self.messages.last_mut()
        {
            last.content.push_str(&text);
        }
    }
}

/// A text completion: the engine plus the prompt's continuation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CompletionState {
    pub engine: EngineState,
    /// The generated continuation (not including the prompt).
    pub completion: String,
}

impl CompletionState {
    /// Starts continuing `prompt` (the previous completion is cleared).
    pub fn complete(
        &mut self,
        prompt: &str,
        options: &GenerateOptions,
    ) -> Result<Request, HearthError> {
        let job = self.engine.begin_job()?;
        self.completion.clear();
        Ok(Request::Complete {
            job,
            prompt: prompt.to_string(),
            options: options.clone(),
        })
    }

    /// Applies a worker response.
    pub fn apply(&mut self, response: Response) {
        if let Some(text) = self.engine.apply(response) {
            self.completion.push_str(&text);
        }
    }
}

#[cfg(test)]
mod tests {
    use hearth_core::FinishReason;

    use super::*;

    fn info() -> ModelInfo {
        ModelInfo {
            name: None,
            architecture: Some("llama".into()),
            parameter_count: 1,
            file_bytes: 1,
            n_ctx: 64,
            load_ms: 1.0,
        }
    }

    fn loaded_chat() -> ChatState {
        let mut chat = ChatState::default();
        chat.engine.load("/m.gguf", 0).unwrap();
        chat.apply(Response::Loaded(info()));
        chat
    }

    fn token(job: u32, text: &str) -> Response {
        Response::Token {
            job,
            text: text.into(),
        }
    }

    #[test]
    fn load_reports_progress_then_ready() {
        let mut s = EngineState::default();
        assert_eq!(s.status, Status::Idle);
        let req = s.load("/models/a.gguf", 512).unwrap();
        assert_eq!(
            req,
            Request::Load {
                url: "/models/a.gguf".into(),
                n_ctx: 512
            }
        );
        assert_eq!(s.status, Status::Loading);
        assert!(matches!(s.load("/b", 0), Err(HearthError::Busy(_))));
        let p = LoadProgress {
            loaded: 10,
            total: Some(100),
        };
        s.apply(Response::Progress(p));
        assert_eq!(s.progress, Some(p));
        s.apply(Response::Loaded(info()));
        assert_eq!(s.status, Status::Ready);
        assert!(s.can_generate());
        // Progress after the load is over is stale.
        s.apply(Response::Progress(LoadProgress {
            loaded: 1,
            total: None,
        }));
        assert_eq!(s.progress, Some(p));
    }

    #[test]
    fn a_failed_load_is_an_error_with_its_cause() {
        let mut s = EngineState::default();
        s.load("/missing.gguf", 0).unwrap();
        let error = HearthError::Http {
            url: "/missing.gguf".into(),
            status: 404,
            status_text: "Not Found".into(),
        };
        s.apply(Response::Failed {
            job: None,
            error: error.clone(),
        });
        assert_eq!(s.status, Status::Error);
        assert_eq!(s.error, Some(error));
        assert!(!s.can_generate());
        assert_eq!(s.begin_job(), Err(HearthError::NotLoaded));
        // Loading again clears the error.
        s.load("/m.gguf", 0).unwrap();
        assert_eq!((s.status, s.error.clone()), (Status::Loading, None));
    }

    #[test]
    fn sending_before_loading_is_refused() {
        let mut chat = ChatState::default();
        let err = chat.send("hi", &GenerateOptions::default()).unwrap_err();
        assert_eq!(err.code(), "MODEL_NOT_LOADED");
        assert!(chat.messages.is_empty());
    }

    #[test]
    fn a_chat_turn_streams_into_the_assistant_message() {
        let mut chat = loaded_chat();
        let req = chat.send("Hello", &GenerateOptions::default()).unwrap();
        let Request::Chat { job, messages, .. } = req else {
            panic!("{req:?}")
        };
        // The worker gets the conversation without the empty reply placeholder.
        assert_eq!(messages, vec![ChatMessage::new(Role::User, "Hello")]);
        assert_eq!(chat.engine.status, Status::Generating);
        assert!(matches!(
            chat.send("again", &GenerateOptions::default()),
            Err(HearthError::Busy(_))
        ));
        chat.apply(token(job, "Hi"));
        chat.apply(token(job, " there"));
        chat.apply(Response::Finished {
            job,
            reason: FinishReason::Stop,
            tokens: 2,
        });
        assert_eq!(chat.engine.status, Status::Ready);
        assert_eq!(
            chat.messages,
            vec![
                ChatMessage::new(Role::User, "Hello"),
                ChatMessage::new(Role::Assistant, "Hi there")
            ]
        );
        // The next turn sends the whole conversation.
        let Request::Chat {
            job: next,
            messages,
            ..
        } = chat.send("More", &GenerateOptions::default()).unwrap()
        else {
            panic!()
        };
        assert_eq!(next, job + 1);
        assert_eq!(messages.len(), 3);
    }

    #[test]
    fn stop_is_immediate_and_drops_late_tokens() {
        let mut chat = loaded_chat();
        let Request::Chat { job, .. } = chat
            .send("Tell a story", &GenerateOptions::default())
            .unwrap()
        else {
            panic!()
        };
        chat.apply(token(job, "Once"));
        assert!(chat.engine.stop());
        assert_eq!(chat.engine.status, Status::Ready);
        assert!(!chat.engine.stop(), "nothing left to stop");
        // Tokens already in flight from the worker, and its cancelled result, change nothing.
        chat.apply(token(job, " upon"));
        chat.apply(Response::Finished {
            job,
            reason: FinishReason::Cancelled,
            tokens: 2,
        });
        assert_eq!(chat.messages[1].content, "Once");
        assert_eq!(chat.engine.status, Status::Ready);
    }

    #[test]
    fn a_failed_generation_shows_the_error_and_allows_another_turn() {
        let mut chat = loaded_chat();
        let Request::Chat { job, .. } = chat.send("x", &GenerateOptions::default()).unwrap() else {
            panic!()
        };
        let error = HearthError::Engine {
            code: "PROMPT_TOO_LONG".into(),
            message: "the prompt has 99 tokens but the context holds 64".into(),
        };
        chat.apply(Response::Failed {
            job: Some(job),
            error: error.clone(),
        });
        assert_eq!(chat.engine.status, Status::Error);
        assert_eq!(chat.engine.error, Some(error));
        assert!(chat.engine.can_generate());
        chat.send("y", &GenerateOptions::default()).unwrap();
        assert_eq!(chat.engine.error, None);
    }

    #[test]
    fn completion_collects_its_job_only() {
        let mut c = CompletionState::default();
        c.engine.load("/m.gguf", 0).unwrap();
        c.apply(Response::Loaded(info()));
        let Request::Complete { job, prompt, .. } = c
            .complete("The capital of France is", &GenerateOptions::default())
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(prompt, "The capital of France is");
        c.apply(token(job + 7, "nope"));
        c.apply(token(job, " Paris"));
        c.apply(Response::Finished {
            job,
            reason: FinishReason::Length,
            tokens: 1,
        });
        assert_eq!(c.completion, " Paris");
        assert_eq!(c.engine.status, Status::Ready);
    }

    #[test]
    fn status_names_are_the_dom_contract() {
        let all = [
            Status::Idle,
            Status::Loading,
            Status::Ready,
            Status::Generating,
            Status::Error,
        ];
        let names: Vec<String> = all.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["idle", "loading", "ready", "generating", "error"]);
    }
}
