//! `sasl.jaas.config`: the Java client's one-line JAAS login configuration, e.g.
//! `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";`
//!
//! Grammar as Kafka's `JaasConfig` reads it (a `StreamTokenizer`): a login module class name, a
//! control flag, `key=value` options (values quoted with `"` and backslash escapes, or bare
//! words), and a closing `;`. Kafka clients accept exactly one login module.

use std::collections::BTreeMap;

/// One parsed login module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoginModule {
    /// The class name, e.g. `org.apache.kafka.common.security.plain.PlainLoginModule`.
    pub class: String,
    /// `required`, `requisite`, `sufficient` or `optional`.
    pub flag: String,
    /// The options. Values may be secrets: never print this map.
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Eq,
    Semi,
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && c != '=' && c != ';' && c != '"'
}

/// Splits the text into tokens. Errors name positions, never values (they may be secrets).
fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut it = text.char_indices().peekable();
    while let Some(&(pos, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
        } else if c == '=' {
            it.next();
            out.push(Token::Eq);
        } else if c == ';' {
            it.next();
            out.push(Token::Semi);
        } else if c == '"' {
            it.next();
            let mut s = String::new();
            let mut closed = false;
            while let Some((_, c)) = it.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => match it.next() {
                        Some((_, 'n')) => s.push('\n'),
                        Some((_, 't')) => s.push('\t'),
                        Some((_, 'r')) => s.push('\r'),
                        Some((_, e)) => s.push(e),
                        None => break,
                    },
                    c => s.push(c),
                }
            }
            if !closed {
                return Err(format!("unterminated quoted value starting at byte {pos}"));
            }
            out.push(Token::Quoted(s));
        } else {
            let mut s = String::new();
            while let Some(&(_, c)) = it.peek() {
                if !is_word_char(c) {
                    break;
                }
                s.push(c);
                it.next();
            }
            out.push(Token::Word(s));
        }
    }
    Ok(out)
}

/// Parses a `sasl.jaas.config` value holding one login module.
pub(crate) fn parse(text: &str) -> Result<LoginModule, String> {
    let toks = tokens(text)?;
    let mut it = toks.into_iter().peekable();
    let class = match it.next() {
        Some(Token::Word(w)) => w,
        _ => return Err("expected a login module class name".into()),
    };
    let flag = match it.next() {
        Some(Token::Word(w))
            if ["required", "requisite", "sufficient", "optional"]
                .contains(&w.to_ascii_lowercase().as_str()) =>
        {
            w.to_ascii_lowercase()
        }
        _ => {
            return Err(format!(
                "expected a control flag (required, requisite, sufficient, optional) after {class}"
            ))
        }
    };
    let mut options = BTreeMap::new();
    loop {
        match it.next() {
            Some(Token::Semi) => break,
            Some(Token::Word(key)) => {
                if it.next() != Some(Token::Eq) {
                    return Err(format!("expected `=` after option `{key}`"));
                }
                let value = match it.next() {
                    Some(Token::Word(v) | Token::Quoted(v)) => v,
                    _ => return Err(format!("expected a value for option `{key}`")),
                };
                options.insert(key, value);
            }
            None => return Err("expected `;` at the end of the login module".into()),
            Some(_) => return Err("expected an option name or `;`".into()),
        }
    }
    if it.next().is_some() {
        return Err("only one login module is allowed (text after the first `;`)".into());
    }
    Ok(LoginModule {
        class,
        flag,
        options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kafka_login_modules() {
        let m = parse(
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="a \"b\" ;=c";"#,
        )
        .unwrap();
        assert!(m.class.ends_with("PlainLoginModule"));
        assert_eq!(m.flag, "required");
        assert_eq!(m.options["username"], "alice");
        assert_eq!(m.options["password"], "a \"b\" ;=c");

        let m = parse("x.ScramLoginModule REQUIRED\n  username=bob password=pw ;  ").unwrap();
        assert_eq!(m.options["username"], "bob");
        assert_eq!(m.options["password"], "pw");
        assert!(parse("x.ScramLoginModule required;")
            .unwrap()
            .options
            .is_empty());
    }

    #[test]
    fn rejects_malformed_text_without_echoing_values() {
        for bad in [
            "",
            "x.Plain",
            "x.Plain always;",
            "x.Plain required username=\"alice\"",
            "x.Plain required username;",
            "x.Plain required password=\"topsecret;",
            "x.Plain required; y.Other required;",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(!e.contains("topsecret"), "{e}");
        }
    }
}
