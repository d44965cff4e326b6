//! The input of a batch: its non-blank lines, each with its place in the
//! file and a digest of its bytes, so that a report or a journal can tell
//! whether a line it recorded is still the line it sent.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::FileExt;
use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::failure::Failure;
use crate::output::Foreign;

/// The first 16 bytes of the SHA-256 of a line's bytes (its line ending
/// excluded), written as 32 hexadecimal digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest([u8; 16]);

impl Digest {
    /// The digest of one line's bytes, `\n` or `\r\n` at its end excluded.
    pub fn of_line(bytes: &[u8]) -> Digest {
        let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let full = Sha256::digest(bytes);
        let mut out = [0; 16];
        out.copy_from_slice(&full[..16]);
        Digest(out)
    }

    /// Reads the 32 hexadecimal digits [`Display`](fmt::Display) writes.
    pub fn parse(text: &str) -> Option<Digest> {
        if text.len() != 32 || !text.is_ascii() {
            return None;
        }
        let mut out = [0; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Digest(out))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One non-blank line of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputLine {
    /// Its number, from 1 (blank lines count).
    pub line: usize,
    /// Where it starts in the file.
    pub offset: u64,
    /// Its length in bytes, line ending included.
    pub len: usize,
    /// Its digest.
    pub digest: Digest,
}

/// The input file as a batch reads it.
#[derive(Debug)]
pub struct Input {
    /// The file's name, escaped for printing.
    pub name: String,
    file: File,
    /// Its non-blank lines, in order.
    pub lines: Vec<InputLine>,
    /// The number of its last line (blank or not).
    pub last_line: usize,
    /// The SHA-256 of the whole file, in hexadecimal.
    pub digest: String,
}

impl Input {
    /// Reads `path` once: where each non-blank line is, and its digest.
    pub fn scan(path: &Path) -> Result<Input, Failure> {
        let name = Foreign(&path.to_string_lossy()).to_string();
        let cannot = |e: std::io::Error| Failure::invalid(format!("cannot read {name}: {e}"));
        let file = File::open(path).map_err(cannot)?;
        let mut reader = BufReader::new(file.try_clone().map_err(cannot)?);
        let mut whole = Sha256::new();
        let mut lines = Vec::new();
        let mut buf = Vec::new();
        let mut offset = 0u64;
        let mut line = 0;
        loop {
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf).map_err(cannot)?;
            if n == 0 {
                break;
            }
            whole.update(&buf);
            line += 1;
            if !buf.iter().all(u8::is_ascii_whitespace) {
                lines.push(InputLine {
                    line,
                    offset,
                    len: n,
                    digest: Digest::of_line(&buf),
                });
            }
            offset += n as u64;
        }
        let digest = whole
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Input {
            name,
            file,
            lines,
            last_line: line,
            digest,
        })
    }

    /// The non-blank line numbered `line`, if there is one.
    pub fn get(&self, line: usize) -> Option<&InputLine> {
        self.lines
            .binary_search_by_key(&line, |l| l.line)
            .ok()
            .map(|i| &self.lines[i])
    }

    /// The bytes of `line` as they are now; an error when they are no
    /// longer the bytes scanned (the file was edited during the run).
    pub fn read(&self, line: &InputLine) -> Result<Vec<u8>, String> {
        let mut buf = vec![0; line.len];
        self.file
            .read_exact_at(&mut buf, line.offset)
            .map_err(|e| format!("cannot read line {} of {}: {e}", line.line, self.name))?;
        if Digest::of_line(&buf) != line.digest {
            return Err(format!(
                "line {} of {} changed while the batch ran",
                line.line, self.name
            ));
        }
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_ignores_the_line_ending_and_reads_back() {
        let a = Digest::of_line(b"{\"a\":1}\n");
        assert_eq!(a, Digest::of_line(b"{\"a\":1}\r\n"));
        assert_eq!(a, Digest::of_line(b"{\"a\":1}"));
        assert_ne!(a, Digest::of_line(b"{\"a\":2}\n"));
        assert_eq!(Digest::parse(&a.to_string()), Some(a));
        assert_eq!(a.to_string().len(), 32);
        assert_eq!(Digest::parse("xyz"), None);
        assert_eq!(Digest::parse(&"é".repeat(16)), None);
    }

    #[test]
    fn scanning_skips_blank_lines_but_counts_them() {
        let dir = std::env::temp_dir().join(format!("wechat-msg-lines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("in.jsonl");
        std::fs::write(&path, "{\"a\":1}\n\n  \n{\"b\":2}").unwrap();
        let input = Input::scan(&path).unwrap();
        assert_eq!(input.last_line, 4);
        let numbers: Vec<usize> = input.lines.iter().map(|l| l.line).collect();
        assert_eq!(numbers, [1, 4]);
        assert_eq!(input.read(input.get(4).unwrap()).unwrap(), b"{\"b\":2}");
        assert!(input.get(2).is_none());
        std::fs::write(&path, "{\"a\":9}\n\n  \n{\"b\":2}").unwrap();
        let err = input.read(input.get(1).unwrap()).unwrap_err();
        assert!(err.contains("changed while the batch ran"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
