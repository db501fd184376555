//! The value syntax of a swept parameter: lists and ranges.
//!
//! `16,32,64` is a list; `A..B:+S` a linear range; `A..B:xF` a geometric
//! range (F may be fractional). Items can be mixed (`8,16..64:x2`). Both
//! ends are included when a step lands on them (within a relative 1e-9, so
//! `0.1..0.3:+0.1` reaches 0.3). Integer parameters are rounded after the
//! range is generated, and duplicates are dropped keeping the first; a
//! value written with a fraction (a list item, a range end or a linear
//! step) for an integer parameter is an error, not rounded.

/// Most values one parameter may take; guards against `1..1e9:+1` typos.
pub const MAX_VALUES: usize = 10_000;

/// A problem in a value string, located by byte offset and length.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueError {
    /// Byte offset of the offending token within the value string.
    pub offset: usize,
    /// Byte length of the offending token (at least 1 when shown).
    pub len: usize,
    /// What is wrong.
    pub message: String,
}

/// Parsed values of one parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Values {
    /// Distinct values in the order given.
    pub values: Vec<f64>,
    /// Whether any item was a geometric range (plots then use a log axis).
    pub geometric: bool,
}

/// Parses `text` (the part after `KEY=`). `integer` rounds every value.
pub fn parse_values(text: &str, integer: bool) -> Result<Values, ValueError> {
    let mut out = Values {
        values: Vec::new(),
        geometric: false,
    };
    let mut start = 0;
    for item in text.split(',') {
        let tok = Token::trimmed(item, start);
        start += item.len() + 1;
        if tok.text.is_empty() {
            return Err(tok.error("empty value (two commas in a row, or a trailing comma?)"));
        }
        let (raw, geometric) = match tok.text.find("..") {
            Some(at) => parse_range(&tok, at, integer)?,
            None => (vec![tok.whole_if(integer)?], false),
        };
        out.geometric |= geometric;
        for v in raw {
            let v = if integer { v.round() } else { tidy(v) };
            if !out.values.contains(&v) {
                out.values.push(v);
            }
        }
        if out.values.len() > MAX_VALUES {
            return Err(tok.error(&format!("more than {MAX_VALUES} values")));
        }
    }
    Ok(out)
}

/// Rounds to 12 significant digits so that `0.1 + 0.2` prints as `0.3`.
fn tidy(v: f64) -> f64 {
    format!("{v:.11e}").parse().unwrap_or(v)
}

/// A slice of the value string with its offset.
struct Token<'a> {
    text: &'a str,
    offset: usize,
}

impl<'a> Token<'a> {
    fn trimmed(raw: &'a str, offset: usize) -> Self {
        let lead = raw.len() - raw.trim_start().len();
        Token {
            text: raw.trim(),
            offset: offset + lead,
        }
    }
    fn sub(&self, from: usize, to: usize) -> Token<'a> {
        Token::trimmed(&self.text[from..to], self.offset + from)
    }
    fn error(&self, message: &str) -> ValueError {
        ValueError {
            offset: self.offset,
            len: self.text.len().max(1),
            message: message.to_string(),
        }
    }
    /// The number, which must be whole when `integer`.
    fn whole_if(&self, integer: bool) -> Result<f64, ValueError> {
        let v = self.number()?;
        if integer && v.fract() != 0.0 {
            return Err(self.error(&format!(
                "`{}` is not a whole number, and this parameter takes whole numbers",
                self.text
            )));
        }
        Ok(v)
    }

    fn number(&self) -> Result<f64, ValueError> {
        match self.text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ if self.text.is_empty() => Err(self.error("expected a number here")),
            _ => Err(self.error(&format!("`{}` is not a number", self.text))),
        }
    }
}

/// Parses `A..B:+S` or `A..B:xF`; `dots` is the offset of `..` in `tok`.
fn parse_range(tok: &Token, dots: usize, integer: bool) -> Result<(Vec<f64>, bool), ValueError> {
    let Some(colon) = tok.text.find(':') else {
        return Err(tok.error("a range needs a step: A..B:+S (linear) or A..B:xF (geometric)"));
    };
    if colon < dots {
        return Err(tok.error("a range is written A..B:+S or A..B:xF"));
    }
    let a = tok.sub(0, dots).whole_if(integer)?;
    let b_tok = tok.sub(dots + 2, colon);
    let b = b_tok.whole_if(integer)?;
    let step = tok.sub(colon + 1, tok.text.len());
    let (op, rest) = match step.text.chars().next() {
        Some(c @ ('+' | 'x' | 'X' | '*')) => (c, step.sub(1, step.text.len())),
        _ => {
            return Err(step.error("the step must start with `+` (linear) or `x` (geometric)"));
        }
    };
    let by = if op == '+' {
        rest.whole_if(integer)?
    } else {
        rest.number()?
    };
    if b < a {
        return Err(b_tok.error(&format!("the end {b} is below the start {a}")));
    }
    let values = if op == '+' {
        if by <= 0.0 {
            return Err(rest.error("a linear step must be positive"));
        }
        generate(a, b, |k| a + k as f64 * by)
    } else {
        if by <= 1.0 {
            return Err(rest.error("a geometric factor must be greater than 1"));
        }
        if a <= 0.0 {
            return Err(tok
                .sub(0, dots)
                .error("a geometric range must start above 0"));
        }
        generate(a, b, |k| a * by.powi(k as i32))
    };
    if values.len() > MAX_VALUES {
        return Err(step.error(&format!("this step gives more than {MAX_VALUES} values")));
    }
    Ok((values, op != '+'))
}

/// Values `at(0), at(1), ...` up to `b`, snapping a value within a relative
/// 1e-9 of `b` onto `b` so that float steps still include the end.
fn generate(a: f64, b: f64, at: impl Fn(usize) -> f64) -> Vec<f64> {
    let slack = 1e-9 * b.abs().max(a.abs()).max(1.0);
    let mut out = Vec::new();
    for k in 0..=MAX_VALUES {
        let v = at(k);
        if v > b + slack {
            break;
        }
        out.push(if (v - b).abs() <= slack { b } else { v });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(s: &str) -> Vec<f64> {
        parse_values(s, true).unwrap().values
    }
    fn floats(s: &str) -> Vec<f64> {
        parse_values(s, false).unwrap().values
    }
    fn err(s: &str) -> ValueError {
        parse_values(s, true).unwrap_err()
    }

    #[test]
    fn lists_keep_order_and_drop_duplicates() {
        assert_eq!(ints("64, 16,32,16"), vec![64.0, 16.0, 32.0]);
        assert!(!parse_values("1,2", true).unwrap().geometric);
    }

    #[test]
    fn linear_range_includes_reached_end() {
        assert_eq!(ints("16..64:+16"), vec![16.0, 32.0, 48.0, 64.0]);
        assert_eq!(ints("16..70:+16"), vec![16.0, 32.0, 48.0, 64.0]);
        assert_eq!(floats("0.1..0.3:+0.1"), vec![0.1, 0.2, 0.3]);
        assert_eq!(ints("5..5:+1"), vec![5.0]);
    }

    #[test]
    fn geometric_range_with_integer_and_fractional_factor() {
        let v = parse_values("64..512:x2", true).unwrap();
        assert_eq!(v.values, vec![64.0, 128.0, 256.0, 512.0]);
        assert!(v.geometric);
        // 64·1.5^k = 64, 96, 144, 216, 324, 486 (729 > 512).
        assert_eq!(
            ints("64..512:x1.5"),
            vec![64.0, 96.0, 144.0, 216.0, 324.0, 486.0]
        );
        // 10·1.1^k rounds 10, 11, 12.1→12, 13.31→13, 14.64→15, ...
        assert_eq!(ints("10..15:x1.1"), vec![10.0, 11.0, 12.0, 13.0, 15.0]);
    }

    #[test]
    fn rounding_drops_duplicates_of_integer_keys() {
        // 1, 1.2, 1.44, 1.728, 2.07, 2.49, 2.99, 3.58 → 1, 2, 3, 4.
        assert_eq!(ints("1..4:x1.2"), vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(floats("1..1.5:x1.2"), vec![1.0, 1.2, 1.44]);
    }

    #[test]
    fn fractions_of_integer_parameters_are_errors() {
        for (text, bad) in [
            ("16,32.5", "32.5"),
            ("1.5..8:+1", "1.5"),
            ("1..8.5:+1", "8.5"),
            ("1..8:+0.5", "0.5"),
        ] {
            let e = err(text);
            assert!(e.message.contains("not a whole number"), "{text}: {e:?}");
            assert_eq!(&text[e.offset..e.offset + e.len], bad, "{text}");
        }
        // A fractional geometric factor generates values that are rounded.
        assert_eq!(ints("1..4:x1.2"), vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(floats("16,32.5"), vec![16.0, 32.5]);
    }

    #[test]
    fn mixed_items() {
        assert_eq!(ints("8,16..64:x2,24"), vec![8.0, 16.0, 32.0, 64.0, 24.0]);
    }

    #[test]
    fn errors_point_at_the_token() {
        let e = err("16..abc:x2");
        assert_eq!((e.offset, e.len), (4, 3), "{e:?}");
        let e = err("16,32,,64");
        assert_eq!(e.offset, 6);
        let e = err("16..64:y2");
        assert_eq!((e.offset, e.len), (7, 2));
        assert!(e.message.contains("`+`"));
        let e = err("16..64:x0.5");
        assert_eq!((e.offset, e.len), (8, 3));
        let e = err("64..16:+1");
        assert_eq!((e.offset, e.len), (4, 2));
        let e = err("1, 16..64");
        assert_eq!((e.offset, e.len), (3, 6));
        let e = err("0..64:x2");
        assert_eq!((e.offset, e.len), (0, 1));
        let e = err("16..64:+0");
        assert!(e.message.contains("positive"));
        assert!(err("1..1e9:+1").message.contains("more than"));
    }
}
