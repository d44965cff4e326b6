//! Mistakes found in a spec, each with its file, line and column.

use std::fmt;

/// A position in a spec file, 1-based.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    /// The file as shown to the user (`api-spec/customerServiceMessage.toml`).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// One mistake in the spec.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SpecError {
    /// Where.
    pub pos: Pos,
    /// What, in a sentence.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

impl std::error::Error for SpecError {}

/// Every mistake found, in file and line order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpecErrors(pub Vec<SpecError>);

impl SpecErrors {
    /// Records a mistake.
    pub fn push(&mut self, pos: &Pos, message: impl Into<String>) {
        self.0.push(SpecError {
            pos: pos.clone(),
            message: message.into(),
        });
    }

    /// Whether none was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sorted, without repeats.
    pub fn into_sorted(mut self) -> Vec<SpecError> {
        self.0.sort();
        self.0.dedup();
        self.0
    }
}

/// Turns byte offsets of one file into positions.
#[derive(Debug)]
pub struct LineIndex {
    file: String,
    text: String,
    line_starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text`, shown as `file`.
    pub fn new(file: String, text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            file,
            text: text.to_owned(),
            line_starts,
        }
    }

    /// The position of byte `offset`.
    pub fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let col = self
            .text
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        Pos {
            file: self.file.clone(),
            line,
            col,
        }
    }

    /// The file's displayed name.
    pub fn file(&self) -> &str {
        &self.file
    }
}
