//! CSV text as the sweep writes and merges it: one field quoted as needed,
//! and where a record ends.

/// `s` as one CSV field, quoted when it holds a comma, quote or line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Length of the first record including its `\n`, honouring quotes.
pub fn record_end(bytes: &[u8]) -> Option<usize> {
    let mut quoted = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => return Some(i + 1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_field_quotes_only_when_needed() {
        assert_eq!(csv_field("conv1"), "conv1");
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("a\nb"), "\"a\nb\"");
    }

    #[test]
    fn records_end_outside_quotes() {
        assert_eq!(record_end(b"a,\"x\ny\"\nb"), Some(8));
        assert_eq!(record_end(b"a,b"), None);
    }
}
