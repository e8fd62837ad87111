//! Stop strings that may span token boundaries: text is held back while it
//! could still be the start of a stop string.

/// Tracks generated text against stop strings.
#[derive(Debug, Default, Clone)]
pub struct StopMatcher {
    stops: Vec<String>,
    pending: String,
}

/// What to do with newly decoded text.
#[derive(Debug, PartialEq, Eq)]
pub enum StopOutcome {
    /// Emit this text (possibly empty) and continue.
    Continue(String),
    /// A stop string was found: emit this text (what came before it) and stop.
    Stop(String),
}

impl StopMatcher {
    /// A matcher for `stops` (empty strings are ignored).
    pub fn new(stops: &[String]) -> Self {
        StopMatcher {
            stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(),
            pending: String::new(),
        }
    }

    /// Feeds decoded text.
    pub fn push(&mut self, text: &str) -> StopOutcome {
        self.pending.push_str(text);
        if self.stops.is_empty() {
            return StopOutcome::Continue(std::mem::take(&mut self.pending));
        }
        if let Some(at) = self
            .stops
            .iter()
            .filter_map(|s| self.pending.find(s.as_str()))
            .min()
        {
            let out = self.pending[..at].to_string();
            self.pending.clear();
            return StopOutcome::Stop(out);
        }
        // Hold back the longest suffix that is a prefix of some stop string.
        let mut hold = 0;
        for s in &self.stops {
            for (i, _) in self.pending.char_indices() {
                let suffix = &self.pending[i..];
                if s.starts_with(suffix) {
                    hold = hold.max(suffix.len());
                    break;
                }
            }
        }
        let cut = self.pending.len() - hold;
        let out = self.pending[..cut].to_string();
        self.pending.drain(..cut);
        StopOutcome::Continue(out)
    }

    /// Text still held back (emitted when generation ends for another reason).
    pub fn flush(&mut self) -> String {
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_across_pieces_and_holds_back_prefixes() {
        let mut m = StopMatcher::new(&["\n\nUser:".to_string()]);
        assert_eq!(m.push("Hello"), StopOutcome::Continue("Hello".into()));
        assert_eq!(m.push(" there\n"), StopOutcome::Continue(" there".into()));
        assert_eq!(m.push("\nUs"), StopOutcome::Continue("".into()));
        assert_eq!(m.push("er: hi"), StopOutcome::Stop("".into()));
    }

    #[test]
    fn false_alarm_is_released() {
        let mut m = StopMatcher::new(&["STOP".to_string()]);
        assert_eq!(m.push("ST"), StopOutcome::Continue("".into()));
        assert_eq!(m.push("AY"), StopOutcome::Continue("STAY".into()));
        assert_eq!(m.push("x S"), StopOutcome::Continue("x ".into()));
        assert_eq!(m.flush(), "S");
    }

    #[test]
    fn earliest_stop_wins_and_no_stops_pass_through() {
        let mut m = StopMatcher::new(&["b".into(), "a".into()]);
        assert_eq!(m.push("xxaxb"), StopOutcome::Stop("xx".into()));
        let mut m = StopMatcher::new(&[]);
        assert_eq!(m.push("abc"), StopOutcome::Continue("abc".into()));
    }
}
