//! The messages between the page and the engine worker, and the typed error
//! both sides report. gloo-worker encodes them with bincode, so every type here
//! is a plain serde shape (no untagged or skipped fields).

use hearth_core::{FinishReason, GenerateOptions};
use serde::{Deserialize, Serialize};

/// Who wrote a chat message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    /// The role's name in chat templates (`"user"` …).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One chat message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    /// A message from its role and text.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: content.into(),
        }
    }
}

impl From<&ChatMessage> for hearth_core::chat_template::ChatMessage {
    fn from(m: &ChatMessage) -> Self {
        hearth_core::chat_template::ChatMessage::new(m.role.as_str(), m.content.clone())
    }
}

/// Bytes of the model received so far; `total` is absent when the server sent no length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadProgress {
    pub loaded: u64,
    pub total: Option<u64>,
}

impl LoadProgress {
    /// `loaded / total` in 0..=1, when the total is known.
    pub fn fraction(&self) -> Option<f64> {
        match self.total {
            Some(0) => Some(1.0),
            Some(t) => Some((self.loaded as f64 / t as f64).min(1.0)),
            None => None,
        }
    }
}

/// What the loaded model is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// `general.name`, when the file has one.
    pub name: Option<String>,
    /// `llama`, `qwen2`, `gemma3` …
    pub architecture: Option<String>,
    pub parameter_count: u64,
    pub file_bytes: u64,
    /// Tokens the session holds.
    pub n_ctx: u32,
    /// Milliseconds spent building the model from its bytes.
    pub load_ms: f64,
}

/// A request from the page to the worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Download the GGUF at `url` (reporting progress), build the model and a
    /// session of `n_ctx` tokens (0: the model's training context).
    Load { url: String, n_ctx: u32 },
    /// Answer a chat: `messages` is the whole conversation so far; the session
    /// reuses the cached prefix of earlier turns. Tokens stream as [`Response::Token`].
    Chat {
        job: u32,
        messages: Vec<ChatMessage>,
        options: GenerateOptions,
    },
    /// Continue `prompt` as plain text.
    Complete {
        job: u32,
        prompt: String,
        options: GenerateOptions,
    },
    /// End the running generation now ([`Response::Finished`] with `Cancelled`).
    Stop,
}

/// A message from the worker to the page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// Download progress of a [`Request::Load`].
    Progress(LoadProgress),
    /// The model is loaded and a session is ready.
    Loaded(ModelInfo),
    /// Newly generated text of `job`.
    Token { job: u32, text: String },
    /// `job` ended.
    Finished {
        job: u32,
        reason: FinishReason,
        tokens: u32,
    },
    /// Loading (`job: None`) or generation `job` failed.
    Failed {
        job: Option<u32>,
        error: HearthError,
    },
}

/// Everything that can go wrong, each with a stable [`HearthError::code`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum HearthError {
    /// The request did not reach the server (network, CORS, bad URL).
    #[error("cannot fetch {url}: {message}")]
    Fetch { url: String, message: String },
    /// The server answered with an error status.
    #[error("{url}: HTTP {status} {status_text}")]
    Http {
        url: String,
        status: u16,
        status_text: String,
    },
    /// Larger than a wasm32 heap can hold.
    #[error("the model has {bytes} bytes; WebAssembly (wasm32) holds at most {max} bytes")]
    TooLarge { bytes: u64, max: u64 },
    /// The memory for the model could not be had.
    #[error("cannot allocate {bytes} bytes for the model")]
    Alloc { bytes: u64 },
    /// The engine refused the model or the request (hearth-core's code and message).
    #[error("{message}")]
    Engine { code: String, message: String },
    /// A generation was asked for before a model was loaded.
    #[error("no model is loaded: load one first")]
    NotLoaded,
    /// A request that needs the engine idle came while it was busy.
    #[error("the engine is busy: {0}")]
    Busy(String),
    /// The worker could not be started or failed outside the engine.
    #[error("worker: {0}")]
    Worker(String),
}

impl HearthError {
    /// A stable machine-readable code (`"HTTP_ERROR"`, or hearth-core's own such as `"GGUF_BAD_MAGIC"`).
    pub fn code(&self) -> &str {
        match self {
            HearthError::Fetch { .. } => "FETCH_FAILED",
            HearthError::Http { .. } => "HTTP_ERROR",
            HearthError::TooLarge { .. } => "MODEL_TOO_LARGE",
            HearthError::Alloc { .. } => "MODEL_ALLOC_FAILED",
            HearthError::Engine { code, .. } => code,
            HearthError::NotLoaded => "MODEL_NOT_LOADED",
            HearthError::Busy(_) => "BUSY",
            HearthError::Worker(_) => "WORKER_ERROR",
        }
    }
}

impl From<hearth_core::Error> for HearthError {
    fn from(e: hearth_core::Error) -> Self {
        HearthError::Engine {
            code: e.code().to_string(),
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What gloo-worker does to every message: bincode there and back.
    fn wire<T: Serialize + for<'de> Deserialize<'de>>(value: &T) -> T {
        bincode::deserialize(&bincode::serialize(value).unwrap()).unwrap()
    }

    #[test]
    fn requests_cross_the_worker_boundary_intact() {
        let mut options = GenerateOptions {
            max_tokens: 7,
            stop: vec!["\n\n".into()],
            ..GenerateOptions::default()
        };
        options.sampling.temperature = 0.0;
        options.sampling.logit_bias = vec![(2, f32::NEG_INFINITY)];
        for req in [
            Request::Load {
                url: "/models/m.gguf".into(),
                n_ctx: 2048,
            },
            Request::Chat {
                job: 3,
                messages: vec![
                    ChatMessage::new(Role::System, "Be brief."),
                    ChatMessage::new(Role::User, "héllo ✓"),
                ],
                options: options.clone(),
            },
            Request::Complete {
                job: 4,
                prompt: "The capital of France is".into(),
                options,
            },
            Request::Stop,
        ] {
            assert_eq!(wire(&req), req);
        }
    }

    #[test]
    fn responses_cross_the_worker_boundary_intact() {
        for resp in [
            Response::Progress(LoadProgress {
                loaded: 5,
                total: None,
            }),
            Response::Loaded(ModelInfo {
                name: Some("SmolLM2".into()),
                architecture: None,
                parameter_count: 134_515_008,
                file_bytes: 1 << 27,
                n_ctx: 2048,
                load_ms: 12.5,
            }),
            Response::Token {
                job: 1,
                text: "Par".into(),
            },
            Response::Finished {
                job: 1,
                reason: FinishReason::Cancelled,
                tokens: 9,
            },
            Response::Failed {
                job: None,
                error: HearthError::Http {
                    url: "/models/x.gguf".into(),
                    status: 404,
                    status_text: "Not Found".into(),
                },
            },
        ] {
            assert_eq!(wire(&resp), resp);
        }
    }

    #[test]
    fn errors_have_stable_codes_and_say_what_happened() {
        let e = HearthError::Http {
            url: "/models/does-not-exist.gguf".into(),
            status: 404,
            status_text: "Not Found".into(),
        };
        assert_eq!(e.code(), "HTTP_ERROR");
        assert_eq!(
            e.to_string(),
            "/models/does-not-exist.gguf: HTTP 404 Not Found"
        );
        // Engine errors keep hearth-core's code.
        let bad = hearth_core::Model::load(hearth_core::ModelBytes::from_vec(b"nope".to_vec()))
            .unwrap_err();
        let e = HearthError::from(bad);
        assert!(e.code().starts_with("GGUF_"), "{}", e.code());
        assert_eq!(wire(&e), e);
    }

    #[test]
    fn progress_fraction_is_bounded() {
        let p = |loaded, total| LoadProgress { loaded, total }.fraction();
        assert_eq!(p(50, Some(200)), Some(0.25));
        assert_eq!(p(0, Some(0)), Some(1.0));
        assert_eq!(p(300, Some(200)), Some(1.0));
        assert_eq!(p(10, None), None);
    }
}
