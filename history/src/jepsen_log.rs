//! The `jepsen.util` log lines of older Jepsen runs:
//! `INFO  jepsen.util - 3	:invoke	:cas	[1 2]`.

/// Streaming jepsen.util log reader (placeholder until the parser lands).
pub struct LogReader<R> {
    _input: R,
    done: bool,
}

impl<R: std::io::BufRead> LogReader<R> {
    pub fn new(input: R) -> Self {
        LogReader { _input: input, done: false }
    }
}

impl<R: std::io::BufRead> Iterator for LogReader<R> {
    type Item = Result<crate::Op, crate::Error>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.done = true;
        Some(Err(crate::ParseError::new(0, 0, "jepsen-log reader not implemented yet").into()))
    }
}

impl<R: std::io::BufRead> crate::OpSource for LogReader<R> {
    fn line(&self) -> usize {
        0
    }
}
