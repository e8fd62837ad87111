//! Chat templates: the Jinja program in `tokenizer.chat_template` that turns a conversation
//! into the prompt text a model was trained on.
//!
//! Rendering follows Hugging Face transformers' `apply_chat_template`, which is what template
//! authors test against: an environment with `trim_blocks` and `lstrip_blocks`, loop
//! controls (`break`/`continue`), Python string/dict methods (`.strip()`, `.startswith()`,
//! `.split()`, `.items()`… via `minijinja-contrib`'s pycompat), a `tojson` filter that writes
//! like Python's `json.dumps(…, ensure_ascii=False)`, the globals `raise_exception(msg)` and
//! `strftime_now(fmt)`, and the variables `messages`, `tools`, `documents`,
//! `add_generation_prompt`, `bos_token` and `eos_token`.
//!
//! A GGUF without a template gets [`CHATML_TEMPLATE`] (llama.cpp's fallback is also ChatML).

use std::fmt::Write as _;

use minijinja::value::{Kwargs, Serde, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};
use serde::{Deserialize, Serialize};
use thiserror::Error as ThisError;

use crate::gguf::Gguf;
use crate::tokenizer::Tokenizer;

/// The ChatML template, used when a model ships none.
pub const CHATML_TEMPLATE: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/// Gemma's turn format, as llama.cpp's built-in `gemma` template writes it: system text is
/// prepended to the first user turn, `assistant` is called `model`, contents are trimmed,
/// and BOS comes from the tokenizer, not the text.
pub const GEMMA_TEMPLATE: &str = "{%- set ns = namespace(system='') -%}{%- for message in messages -%}{%- if message['role'] == 'system' -%}{%- set ns.system = ns.system + message['content'] -%}{%- else -%}{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}{{- '<start_of_turn>' + role + '\\n' -}}{%- if ns.system and role != 'model' -%}{{- ns.system + '\\n\\n' -}}{%- set ns.system = '' -%}{%- endif -%}{{- (message['content'] | trim) + '<end_of_turn>\\n' -}}{%- endif -%}{%- endfor -%}{%- if add_generation_prompt -%}{{- '<start_of_turn>model\\n' -}}{%- endif -%}";

/// Name of the one template in the environment.
const NAME: &str = "chat_template";
/// Marks errors raised by the template's own `raise_exception`.
const RAISED: &str = "raise_exception: ";

/// One message of a conversation. For tool calls, images and other structured content,
/// render a `serde_json::Value` with [`ChatTemplate::render_json`] instead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant`, `tool`…
    pub role: String,
    /// The message text.
    pub content: String,
}

impl ChatMessage {
    /// A message from its role and text.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// Why a template could not be compiled or rendered.
#[derive(Debug, ThisError)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template source is not valid Jinja.
    #[error("chat template does not compile: {0}")]
    Syntax(String),
    /// The template called `raise_exception(message)`, e.g. for roles that do not alternate.
    #[error("chat template raised: {0}")]
    Raised(String),
    /// Rendering failed (undefined attribute, type error…).
    #[error("chat template failed to render: {0}")]
    Render(String),
    /// `messages` is not an array of objects.
    #[error("invalid chat messages: {0}")]
    InvalidMessages(String),
}

/// A compiled chat template.
pub struct ChatTemplate {
    env: Environment<'static>,
    source: String,
    bos_token: String,
    eos_token: String,
    /// Seconds since the Unix epoch for `strftime_now`; `None` reads the system clock.
    now: Option<i64>,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("source_len", &self.source.len())
            .field("bos_token", &self.bos_token)
            .field("eos_token", &self.eos_token)
            .finish_non_exhaustive()
    }
}

impl ChatTemplate {
    /// Compiles `source` with HF's environment; `bos_token`/`eos_token` are the texts the
    /// template sees under those names.
    pub fn new(
        source: impl Into<String>,
        bos_token: impl Into<String>,
        eos_token: impl Into<String>,
    ) -> Result<ChatTemplate, TemplateError> {
        let source = source.into();
        let mut env = Environment::new();
        // HF: `ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)`;
        // `keep_trailing_newline` stays false, as in jinja2.
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .map_err(|e| TemplateError::Syntax(e.to_string()))?,
        );
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |msg: String| -> Result<Value, Error> {
            Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("{RAISED}{msg}"),
            ))
        });
        env.add_filter("tojson", tojson);
        env.add_template_owned(NAME, source.clone())
            .map_err(|e| TemplateError::Syntax(describe(&e)))?;
        Ok(ChatTemplate {
            env,
            source,
            bos_token: bos_token.into(),
            eos_token: eos_token.into(),
            now: None,
        })
    }

    /// The template of a GGUF (`tokenizer.chat_template`), with the BOS/EOS texts of its
    /// tokenizer. A file without one gets its family's built-in template, as llama.cpp
    /// does: [`GEMMA_TEMPLATE`] for Gemma architectures, [`CHATML_TEMPLATE`] otherwise.
    pub fn from_gguf(gguf: &Gguf, tokenizer: &Tokenizer) -> Result<ChatTemplate, TemplateError> {
        let builtin = match gguf.architecture() {
            Some(a) if a.starts_with("gemma") => GEMMA_TEMPLATE,
            _ => CHATML_TEMPLATE,
        };
        let source = gguf.get_str("tokenizer.chat_template").unwrap_or(builtin);
        let text = |id: Option<u32>| {
            id.and_then(|id| tokenizer.token_text(id))
                .unwrap_or("")
                .to_string()
        };
        ChatTemplate::new(source, text(tokenizer.bos()), text(tokenizer.eos()))
    }

    /// The template source.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Fixes the time `strftime_now` formats (seconds since the Unix epoch, rendered as UTC).
    /// Without it the system clock is read; wasm32 has none, so there it renders the epoch.
    pub fn set_now(&mut self, unix_seconds: Option<i64>) {
        self.now = unix_seconds;
    }

    /// Renders a conversation of plain messages.
    pub fn render(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
        tools: Option<&serde_json::Value>,
    ) -> Result<String, TemplateError> {
        let messages = serde_json::to_value(messages)
            .map_err(|e| TemplateError::InvalidMessages(e.to_string()))?;
        self.render_json(&messages, add_generation_prompt, tools)
    }

    /// Renders `messages` given as JSON: an array of objects with `role`, `content` and
    /// whatever else the template reads (`tool_calls`, `name`, content parts…), passed through.
    pub fn render_json(
        &self,
        messages: &serde_json::Value,
        add_generation_prompt: bool,
        tools: Option<&serde_json::Value>,
    ) -> Result<String, TemplateError> {
        let Some(list) = messages.as_array() else {
            return Err(TemplateError::InvalidMessages(
                "messages must be a JSON array".into(),
            ));
        };
        if let Some(i) = list.iter().position(|m| !m.is_object()) {
            return Err(TemplateError::InvalidMessages(format!(
                "message {i} is not an object"
            )));
        }
        let now = self.now.unwrap_or_else(system_now);
        let strftime_now = Value::from_function(move |fmt: String| strftime(&fmt, now));
        let ctx = minijinja::context! {
            messages => Value::from(Serde(messages)),
            // HF passes `tools=None` and `documents=None` when there are none.
            tools => tools.map(|t| Value::from(Serde(t))).unwrap_or(Value::from(())),
            documents => Value::from(()),
            add_generation_prompt => add_generation_prompt,
            bos_token => self.bos_token.as_str(),
            eos_token => self.eos_token.as_str(),
            strftime_now => strftime_now,
        };
        let tmpl = self
            .env
            .get_template(NAME)
            .map_err(|e| TemplateError::Syntax(describe(&e)))?;
        tmpl.render(ctx).map_err(|e| {
            let mut err: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(cur) = err {
                if let Some(m) = cur
                    .downcast_ref::<Error>()
                    .and_then(|e| e.detail())
                    .and_then(|d| d.strip_prefix(RAISED))
                {
                    return TemplateError::Raised(m.to_string());
                }
                err = cur.source();
            }
            TemplateError::Render(describe(&e))
        })
    }
}

/// An error with its source chain and template location, on one line.
fn describe(e: &Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(cause) = src {
        let _ = write!(s, ": {cause}");
        src = cause.source();
    }
    s
}

#[cfg(not(target_arch = "wasm32"))]
fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(target_arch = "wasm32")]
fn system_now() -> i64 {
    // `SystemTime::now` panics on wasm32-unknown-unknown; callers set the time with `set_now`.
    0
}

/// HF's `tojson`: `json.dumps(x, ensure_ascii=False, indent=indent, separators=separators,
/// sort_keys=sort_keys)`. Unlike minijinja's built-in it neither HTML-escapes nor
/// sorts, and it uses Python's default separators `", "` and `": "`.
fn tojson(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let indent: Option<Value> = kwargs.get("indent")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    let separators: Option<Value> = kwargs.get("separators")?;
    let ensure_ascii: Option<bool> = kwargs.get("ensure_ascii")?;
    kwargs.assert_all_used()?;
    let indent = match indent {
        None => None,
        Some(v) if v.is_none() => None,
        Some(v) => match v.as_i64() {
            Some(n) => Some(" ".repeat(n.max(0) as usize)),
            None => Some(v.as_str().map(str::to_string).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    "tojson: indent must be an integer or a string",
                )
            })?),
        },
    };
    let (item_sep, key_sep) = match separators {
        Some(s) if !s.is_none() => {
            let a = s.get_item_by_index(0)?;
            let b = s.get_item_by_index(1)?;
            (
                a.as_str().unwrap_or(", ").to_string(),
                b.as_str().unwrap_or(": ").to_string(),
            )
        }
        // Python drops the trailing space of the item separator when indenting.
        _ if indent.is_some() => (",".to_string(), ": ".to_string()),
        _ => (", ".to_string(), ": ".to_string()),
    };
    let opts = JsonOpts {
        indent,
        item_sep,
        key_sep,
        sort_keys: sort_keys.unwrap_or(false),
        ensure_ascii: ensure_ascii.unwrap_or(false),
    };
    let mut out = String::new();
    write_json(&value, &opts, 0, &mut out)?;
    Ok(Value::from_safe_string(out))
}

struct JsonOpts {
    indent: Option<String>,
    item_sep: String,
    key_sep: String,
    sort_keys: bool,
    ensure_ascii: bool,
}

fn write_json(v: &Value, o: &JsonOpts, depth: usize, out: &mut String) -> Result<(), Error> {
    let newline = |out: &mut String, depth: usize| {
        if let Some(ind) = &o.indent {
            out.push('\n');
            for _ in 0..depth {
                out.push_str(ind);
            }
        }
    };
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::Number => {
            // `as_i64` would also accept 1.0; Python keeps floats floats.
            if v.is_integer() {
                let _ = write!(out, "{v}");
            } else {
                let f = f64::try_from(v.clone())?;
                if f.is_nan() {
                    out.push_str("NaN");
                } else if f.is_infinite() {
                    out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
                } else {
                    // `{:?}` keeps the `.0` of integral floats, like Python's repr.
                    let _ = write!(out, "{f:?}");
                }
            }
        }
        ValueKind::String => write_json_str(v.as_str().unwrap_or(""), o.ensure_ascii, out),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = v.try_iter()?.collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(&o.item_sep);
                }
                newline(out, depth + 1);
                write_json(item, o, depth + 1, out)?;
            }
            newline(out, depth);
            out.push(']');
        }
        ValueKind::Map | ValueKind::Plain => {
            let mut keys: Vec<Value> = v.try_iter()?.collect();
            if keys.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            if o.sort_keys {
                keys.sort();
            }
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(&o.item_sep);
                }
                newline(out, depth + 1);
                match k.as_str() {
                    Some(s) => write_json_str(s, o.ensure_ascii, out),
                    None => write_json_str(&k.to_string(), o.ensure_ascii, out),
                }
                out.push_str(&o.key_sep);
                write_json(&v.get_item(k)?, o, depth + 1, out)?;
            }
            newline(out, depth);
            out.push('}');
        }
        ValueKind::Bytes | ValueKind::Invalid => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("tojson: cannot serialize {}", v.kind()),
            ));
        }
        _ => write_json_str(&v.to_string(), o.ensure_ascii, out),
    }
    Ok(())
}

/// A JSON string literal as Python's `json.dumps` writes it.
fn write_json_str(s: &str, ensure_ascii: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && !c.is_ascii()) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// C `strftime` over a UTC timestamp, for the directives chat templates use
/// (`%d %B %Y` and friends). Unknown directives are copied through.
fn strftime(fmt: &str, unix: i64) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (secs / 3600, secs / 60 % 60, secs % 60);
    // 1970-01-01 was a Thursday (index 3 from Monday).
    let weekday = (days + 3).rem_euclid(7) as usize;
    let yday = days - days_from_civil(y, 1, 1) + 1;
    let mut out = String::new();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(d2) = chars.next() else {
            out.push('%');
            break;
        };
        let month = MONTHS[(m - 1) as usize];
        let day = DAYS[weekday];
        let _ = match d2 {
            'Y' => write!(out, "{y}"),
            'y' => write!(out, "{:02}", y.rem_euclid(100)),
            'm' => write!(out, "{m:02}"),
            'd' => write!(out, "{d:02}"),
            'e' => write!(out, "{d:2}"),
            'B' => write!(out, "{month}"),
            'b' | 'h' => write!(out, "{}", &month[..3]),
            'A' => write!(out, "{day}"),
            'a' => write!(out, "{}", &day[..3]),
            'H' => write!(out, "{hh:02}"),
            'I' => write!(out, "{:02}", if hh % 12 == 0 { 12 } else { hh % 12 }),
            'p' => write!(out, "{}", if hh < 12 { "AM" } else { "PM" }),
            'M' => write!(out, "{mm:02}"),
            'S' => write!(out, "{ss:02}"),
            'j' => write!(out, "{yday:03}"),
            'F' => write!(out, "{y}-{m:02}-{d:02}"),
            'T' => write!(out, "{hh:02}:{mm:02}:{ss:02}"),
            '%' => write!(out, "%"),
            other => write!(out, "%{other}"),
        };
    }
    out
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strftime_formats_utc_dates() {
        // 2024-02-29T13:05:09Z, a Thursday, day 60 of a leap year.
        let t = 1_709_211_909;
        assert_eq!(strftime("%d %B %Y", t), "29 February 2024");
        assert_eq!(
            strftime("%a %b %e %H:%M:%S %j %p %I %%", t),
            "Thu Feb 29 13:05:09 060 PM 01 %"
        );
        assert_eq!(strftime("%F", 0), "1970-01-01");
        assert_eq!(days_from_civil(2024, 2, 29), t / 86_400);
    }

    #[test]
    fn chatml_fallback_and_raise_exception() {
        let t = ChatTemplate::new(CHATML_TEMPLATE, "", "").unwrap();
        let out = t
            .render(&[ChatMessage::new("user", "hi")], true, None)
            .unwrap();
        assert_eq!(
            out,
            "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
        );

        let t = ChatTemplate::new("{{ raise_exception('roles must alternate') }}", "", "").unwrap();
        match t.render(&[], false, None) {
            Err(TemplateError::Raised(m)) => assert_eq!(m, "roles must alternate"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            ChatTemplate::new("{% if %}", "", ""),
            Err(TemplateError::Syntax(_))
        ));
        assert!(matches!(
            t.render_json(&serde_json::json!({"role": "user"}), false, None),
            Err(TemplateError::InvalidMessages(_))
        ));
    }

    #[test]
    fn tojson_writes_like_python() {
        let t = ChatTemplate::new("{{ x | tojson }}|{{ x | tojson(indent=2) }}", "", "").unwrap();
        let env = &t.env;
        let tmpl = env.get_template(NAME).unwrap();
        let x = Value::from(Serde(serde_json::json!({"a": [1, 2.0, "é<\n"], "b": null})));
        let out = tmpl.render(minijinja::context! { x => x }).unwrap();
        assert_eq!(
            out,
            "{\"a\": [1, 2.0, \"é<\\n\"], \"b\": null}|{\n  \"a\": [\n    1,\n    2.0,\n    \"é<\\n\"\n  ],\n  \"b\": null\n}"
        );
    }
}
