//! Turning definition names into Rust names.

/// `TransactionalId` -> `transactional_id`, `ISRState` -> `isr_state`.
pub fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = if i > 0 { Some(chars[i - 1]) } else { None };
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                None => false,
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A field name that is safe as a Rust identifier.
pub fn field_ident(name: &str) -> String {
    let s = snake(name);
    match s.as_str() {
        "type" | "match" | "ref" | "mod" | "use" | "where" | "loop" | "move" | "self" | "super"
        | "crate" | "impl" | "trait" | "fn" | "let" | "struct" | "enum" | "async" | "await"
        | "dyn" | "box" | "final" | "override" | "static" | "const" | "in" | "for" | "if"
        | "else" | "return" | "true" | "false" | "as" | "break" | "continue" | "extern" | "pub"
        | "unsafe" | "while" | "yield" | "macro" | "priv" | "abstract" | "become" | "do"
        | "gen" | "try" | "typeof" | "unsized" | "virtual" => format!("r#{s}"),
        _ => s,
    }
}

/// `ProduceRequest` -> `PRODUCE` style constant names for API keys.
pub fn screaming(name: &str) -> String {
    snake(name).to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_cases() {
        assert_eq!(snake("TransactionalId"), "transactional_id");
        assert_eq!(snake("ISRState"), "isr_state");
        assert_eq!(snake("TopicID"), "topic_id");
        assert_eq!(snake("V2Data"), "v2_data");
        assert_eq!(field_ident("Type"), "r#type");
    }
}
