//! Our chat-template rendering against Python jinja2 configured as HF transformers does it
//! (`tests/render_chat_template.py`). Python 3 with jinja2 is required: without it these
//! tests fail, they do not skip.
#![cfg(not(target_arch = "wasm32"))]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use hearth_core::ModelBytes;
use hearth_core::chat_template::{ChatMessage, ChatTemplate, TemplateError};
use hearth_core::gguf::Gguf;
use hearth_core::tokenizer::Tokenizer;
use serde_json::{Value, json};

const NOW: i64 = 1_709_211_909; // 2024-02-29T13:05:09Z

fn model_path(file: &str) -> PathBuf {
    let dir = std::env::var_os("HEARTH_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is not set"))
                .join(".cache/hearth/models")
        });
    let path = dir.join(file);
    assert!(
        path.is_file(),
        "model {} is missing: run scripts/fetch-models",
        path.display()
    );
    path
}

fn tests_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests"))
}

/// One rendering job, in the JSON shape the Python script reads.
struct Case {
    template: String,
    bos: String,
    eos: String,
    messages: Value,
    add_generation_prompt: bool,
    tools: Option<Value>,
}

impl Case {
    fn to_json(&self) -> Value {
        json!({
            "template": self.template, "bos_token": self.bos, "eos_token": self.eos,
            "messages": self.messages, "add_generation_prompt": self.add_generation_prompt,
            "tools": self.tools, "now": NOW,
        })
    }
}

/// Renders all cases with Python jinja2; each result is `Ok(text)` or `Err(message)`.
fn render_with_python(cases: &[Case]) -> Vec<Result<String, String>> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = tests_dir().join("render_chat_template.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python} ({e}): the chat-template tests need Python 3 with jinja2 (`python3 -m pip install jinja2`)"));
    let input = Value::Array(cases.iter().map(Case::to_json).collect()).to_string();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{} failed ({}): {}\nthe chat-template tests need Python 3 with jinja2 (`python3 -m pip install jinja2`)",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).expect("script prints JSON");
    results
        .into_iter()
        .map(|r| match (r.get("ok"), r.get("error")) {
            (Some(Value::String(s)), _) => Ok(s.clone()),
            (_, Some(Value::String(e))) => Err(e.clone()),
            _ => panic!("unexpected script output {r}"),
        })
        .collect()
}

fn render_with_rust(case: &Case) -> Result<String, TemplateError> {
    let mut t = ChatTemplate::new(case.template.clone(), case.bos.clone(), case.eos.clone())
        .expect("compiles");
    t.set_now(Some(NOW));
    t.render_json(
        &case.messages,
        case.add_generation_prompt,
        case.tools.as_ref(),
    )
}

/// Renders every case both ways and compares; returns the number of identical renderings.
fn compare(name: &str, cases: &[Case]) -> usize {
    let expected = render_with_python(cases);
    let mut same = 0;
    for (case, want) in cases.iter().zip(expected) {
        let got = render_with_rust(case);
        match (&got, &want) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{name}: rendering of {}", case.messages),
            (Err(TemplateError::Raised(a)), Err(b)) => assert_eq!(a, b, "{name}: raised message"),
            _ => panic!(
                "{name}: ours {got:?}, jinja2 {want:?} for {}",
                case.messages
            ),
        }
        same += 1;
    }
    eprintln!(
        "{name}: {same}/{} renderings identical to jinja2",
        cases.len()
    );
    same
}

fn conversations() -> Vec<Value> {
    vec![
        json!([{"role": "user", "content": "Hi there!"}]),
        json!([{"role": "system", "content": "  Be brief.  "}, {"role": "user", "content": "What is 2+2?"}]),
        json!([
            {"role": "user", "content": "Hello\n"},
            {"role": "assistant", "content": "  Hi! How can I help?  "},
            {"role": "user", "content": "Write «unicode» 😀 and \"quotes\" \\ backslash"},
        ]),
        json!([{"role": "system", "content": "S"}, {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]),
    ]
}

fn cases_for(template: &str, bos: &str, eos: &str, extra: Vec<Value>) -> Vec<Case> {
    let mut cases = Vec::new();
    for messages in conversations().into_iter().chain(extra) {
        for add_generation_prompt in [false, true] {
            cases.push(Case {
                template: template.to_string(),
                bos: bos.to_string(),
                eos: eos.to_string(),
                messages: messages.clone(),
                add_generation_prompt,
                tools: None,
            });
        }
    }
    cases
}

fn load_gguf(file: &str) -> (ModelBytes, Tokenizer) {
    let bytes = ModelBytes::map_file(model_path(file)).unwrap();
    let tok = Tokenizer::from_gguf(&Gguf::parse(&bytes).unwrap()).unwrap();
    (bytes, tok)
}

#[test]
fn smollm2_template_matches_jinja2() {
    let (bytes, tok) = load_gguf("SmolLM2-135M-Instruct.Q4_1.gguf");
    let gguf = Gguf::parse(&bytes).unwrap();
    let template = ChatTemplate::from_gguf(&gguf, &tok).unwrap();
    assert!(template.source().contains("<|im_start|>"));
    let out = template
        .render(&[ChatMessage::new("user", "hi")], true, None)
        .unwrap();
    assert_eq!(
        out,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    );
    let cases = cases_for(template.source(), "<|im_start|>", "<|im_end|>", vec![]);
    assert_eq!(compare("SmolLM2", &cases), cases.len());
}

#[test]
fn gemma3_template_matches_jinja2() {
    // gemma-3-270m's GGUF carries no template; this is the one of google/gemma-3-*-it.
    let source =
        std::fs::read_to_string(tests_dir().join("data/gemma3_chat_template.jinja")).unwrap();
    let (_bytes, tok) = load_gguf("gemma-3-270m-q4_k_m.gguf");
    let bos = tok.token_text(tok.bos().unwrap()).unwrap().to_string();
    let eos = tok.token_text(tok.eos().unwrap()).unwrap().to_string();
    assert_eq!((bos.as_str(), eos.as_str()), ("<bos>", "<eos>"));
    let extra = vec![
        // Content parts, as multimodal front ends send them.
        json!([{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": " Describe. "}]}]),
        // Roles that do not alternate: both must raise the template's own message.
        json!([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]),
    ];
    let cases = cases_for(&source, &bos, &eos, extra);
    assert_eq!(compare("Gemma3", &cases), cases.len());
    let bad = cases
        .iter()
        .find(|c| c.messages[1]["role"] == "user" && c.messages[0]["role"] == "user")
        .unwrap();
    assert!(
        matches!(render_with_rust(bad), Err(TemplateError::Raised(m)) if m.starts_with("Conversation roles must alternate"))
    );
}

#[test]
fn hf_conventions_match_jinja2() {
    let source =
        std::fs::read_to_string(tests_dir().join("data/features_chat_template.jinja")).unwrap();
    let tools = json!([{
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather for a city, «now».", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "default": 1.0}},
            "required": ["city"]}}
    }]);
    let tool_turn = json!([
        {"role": "system", "content": "  You call tools.  "},
        {"role": "user", "content": "Hi, weather in Paris?"},
        {"role": "assistant", "content": "Checking", "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}}]},
        {"role": "tool", "content": "{\"temp\": 21}"},
    ]);
    let mut cases = cases_for(&source, "<s>", "</s>", vec![tool_turn.clone()]);
    for add_generation_prompt in [false, true] {
        cases.push(Case {
            template: source.clone(),
            bos: "<s>".into(),
            eos: "</s>".into(),
            messages: tool_turn.clone(),
            add_generation_prompt,
            tools: Some(tools.clone()),
        });
    }
    assert_eq!(compare("features", &cases), cases.len());
}
