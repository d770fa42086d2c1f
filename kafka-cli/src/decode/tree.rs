//! A value tree read back from the `Debug` output of the generated messages.
//!
//! The generated structs derive `Debug`, whose compact form is a small, regular grammar:
//! `Name { field: value, ... }`, `Some(value)`, `None`, `[value, ...]`, `"string"`,
//! `b"bytes"`, numbers, booleans and `Uuid(base64)`. Parsing it back gives every message a
//! walkable tree without a hand-written visitor per message type; the renderers (JSON, the
//! indented view, the digest of the one-line summary) walk that tree.
//!
//! The tree is an arena of [`Node`]s whose text is spans of the `Debug` string; both buffers are
//! reused from frame to frame, so steady-state decoding allocates nothing here.

use std::fmt::Write as _;

/// Index of a node in its [`DebugTree`].
pub type NodeId = u32;

const NONE: NodeId = u32::MAX;
/// Deepest nesting accepted (the generated messages nest far less).
const MAX_DEPTH: usize = 128;

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `Name { ... }`: `text` is the type name, children are the fields.
    Struct,
    /// `Name(a, b)` other than `Some` and `Uuid`: `text` is the name, children the values.
    Tuple,
    /// `[...]`: children are the elements.
    List,
    /// `None`.
    Null,
    /// `true` / `false`.
    Bool,
    /// An integer literal.
    Int,
    /// A float literal (`1.5`, `1e-7`, `NaN`, `inf`).
    Float,
    /// `"..."`: `text` is the escaped body (see `text::unescape_debug_str`).
    Str,
    /// `b"..."`: `text` is the escaped body (see `text::unescape_debug_bytes`).
    Bytes,
    /// `Uuid(...)`: `text` is Kafka's base64 form.
    Uuid,
    /// Any other bare word.
    Ident,
    /// A `records` field whose data was taken out before formatting; the value is the index
    /// into the frame's decoded record sets.
    Records(u32),
}

/// One value.
#[derive(Debug, Clone, Copy)]
pub struct Node {
    /// What it is.
    pub kind: Kind,
    field: (u32, u32),
    text: (u32, u32),
    first_child: NodeId,
    next_sibling: NodeId,
    children: u32,
}

/// The `Debug` text did not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unexpected Debug output at character {at}: {what}")]
pub struct TreeError {
    /// Position in the text.
    pub at: usize,
    /// What was expected.
    pub what: &'static str,
}

/// A parsed `Debug` tree. Reuse one with [`DebugTree::parse_debug`] to avoid allocations.
#[derive(Debug, Default, Clone)]
pub struct DebugTree {
    text: String,
    nodes: Vec<Node>,
    root: NodeId,
}

impl DebugTree {
    /// Formats `value` with `{:?}` and parses the result, replacing the previous contents.
    pub fn parse_debug(&mut self, value: &impl std::fmt::Debug) -> Result<NodeId, TreeError> {
        self.text.clear();
        // Writing to a String cannot fail.
        let _ = write!(self.text, "{value:?}");
        self.reparse()
    }

    /// Parses `text` (for tests and tools).
    pub fn parse_str(&mut self, text: &str) -> Result<NodeId, TreeError> {
        self.text.clear();
        self.text.push_str(text);
        self.reparse()
    }

    fn reparse(&mut self) -> Result<NodeId, TreeError> {
        self.nodes.clear();
        self.root = NONE;
        let mut p = Parser {
            s: self.text.as_bytes(),
            pos: 0,
            nodes: &mut self.nodes,
        };
        let root = p.value(0)?;
        if p.pos != p.s.len() {
            return Err(p.err("end of text"));
        }
        self.root = root;
        Ok(root)
    }

    /// The root node of the last successful parse.
    pub fn root(&self) -> Option<NodeId> {
        (self.root != NONE).then_some(self.root)
    }

    /// The raw `Debug` text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The node.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// The kind of a node.
    pub fn kind(&self, id: NodeId) -> Kind {
        self.nodes[id as usize].kind
    }

    /// The field name a node is the value of (empty for list elements and the root).
    pub fn field(&self, id: NodeId) -> &str {
        let (a, b) = self.nodes[id as usize].field;
        &self.text[a as usize..b as usize]
    }

    /// The node's text: type name, literal, or escaped string body.
    pub fn text_of(&self, id: NodeId) -> &str {
        let (a, b) = self.nodes[id as usize].text;
        &self.text[a as usize..b as usize]
    }

    /// Number of children.
    pub fn child_count(&self, id: NodeId) -> usize {
        self.nodes[id as usize].children as usize
    }

    /// The children, in order.
    pub fn children(&self, id: NodeId) -> Children<'_> {
        Children {
            tree: self,
            next: self.nodes[id as usize].first_child,
        }
    }

    /// The child that is the value of field `name`.
    pub fn child(&self, id: NodeId, name: &str) -> Option<NodeId> {
        self.children(id).find(|&c| self.field(c) == name)
    }

    /// The integer value of an `Int` node.
    pub fn int(&self, id: NodeId) -> Option<i64> {
        match self.kind(id) {
            Kind::Int => self.text_of(id).parse().ok(),
            _ => None,
        }
    }

    /// Marks a `Bytes` node as taken-out records with index `index`.
    pub fn set_records(&mut self, id: NodeId, index: u32) {
        self.nodes[id as usize].kind = Kind::Records(index);
    }

    /// Every node id, in document order (pre-order).
    pub fn ids(&self) -> std::ops::Range<NodeId> {
        0..self.nodes.len() as NodeId
    }
}

/// Iterator over a node's children.
#[derive(Debug, Clone)]
pub struct Children<'a> {
    tree: &'a DebugTree,
    next: NodeId,
}

impl Iterator for Children<'_> {
    type Item = NodeId;

    fn next(&mut self) -> Option<NodeId> {
        if self.next == NONE {
            return None;
        }
        let id = self.next;
        self.next = self.tree.nodes[id as usize].next_sibling;
        Some(id)
    }
}

/// Bytes of identifiers: ASCII letters, digits and `_`.
static IDENT: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || b == b'_';
        c += 1;
    }
    t
};

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    nodes: &'a mut Vec<Node>,
}

impl Parser<'_> {
    #[cold]
    fn err(&self, what: &'static str) -> TreeError {
        TreeError { at: self.pos, what }
    }

    fn push(&mut self, kind: Kind, text: (usize, usize)) -> NodeId {
        let id = self.nodes.len() as NodeId;
        self.nodes.push(Node {
            kind,
            field: (0, 0),
            text: (text.0 as u32, text.1 as u32),
            first_child: NONE,
            next_sibling: NONE,
            children: 0,
        });
        id
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, lit: &'static [u8], what: &'static str) -> Result<(), TreeError> {
        if self.eat(lit) {
            Ok(())
        } else {
            Err(self.err(what))
        }
    }

    fn link(&mut self, parent: NodeId, last: &mut NodeId, child: NodeId) {
        if *last == NONE {
            self.nodes[parent as usize].first_child = child;
        } else {
            self.nodes[*last as usize].next_sibling = child;
        }
        self.nodes[parent as usize].children += 1;
        *last = child;
    }

    fn value(&mut self, depth: usize) -> Result<NodeId, TreeError> {
        if depth > MAX_DEPTH {
            return Err(self.err("shallower nesting"));
        }
        match self.peek() {
            Some(b'[') => self.list(depth),
            Some(b'(') => {
                self.pos += 1;
                self.tuple((self.pos, self.pos), depth)
            }
            Some(b'"') => {
                self.pos += 1;
                let body = self.quoted()?;
                Ok(self.push(Kind::Str, body))
            }
            Some(b'b') if self.s.get(self.pos + 1) == Some(&b'"') => {
                self.pos += 2;
                let body = self.quoted()?;
                Ok(self.push(Kind::Bytes, body))
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => Ok(self.number()),
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => self.word(depth),
            _ => Err(self.err("a value")),
        }
    }

    /// After an opening quote: the escaped body up to the closing quote.
    fn quoted(&mut self) -> Result<(usize, usize), TreeError> {
        let start = self.pos;
        let s = self.s;
        let mut i = start;
        loop {
            match s[i.min(s.len())..]
                .iter()
                .position(|&c| c == b'"' || c == b'\\')
            {
                Some(k) if s[i + k] == b'"' => {
                    self.pos = i + k + 1;
                    return Ok((start, i + k));
                }
                Some(k) => i += k + 2,
                None => {
                    self.pos = s.len();
                    return Err(self.err("a closing quote"));
                }
            }
        }
    }

    fn number(&mut self) -> NodeId {
        let start = self.pos;
        let s = self.s;
        let mut i = start;
        let mut float = false;
        while let Some(&c) = s.get(i) {
            match c {
                b'0'..=b'9' | b'-' => {}
                b'.' | b'e' | b'E' | b'+' | b'a'..=b'z' | b'A'..=b'Z' => float = true,
                _ => break,
            }
            i += 1;
        }
        self.pos = i;
        self.push(if float { Kind::Float } else { Kind::Int }, (start, i))
    }

    fn ident(&mut self) -> (usize, usize) {
        let start = self.pos;
        let s = self.s;
        let mut i = start;
        while i < s.len() && IDENT[usize::from(s[i])] {
            i += 1;
        }
        self.pos = i;
        (start, i)
    }

    fn word(&mut self, depth: usize) -> Result<NodeId, TreeError> {
        let name = self.ident();
        let word = &self.s[name.0..name.1];
        if self.eat(b" { ") {
            return self.struct_fields(name, depth);
        }
        if self.eat(b" {}") {
            return Ok(self.push(Kind::Struct, name));
        }
        if self.eat(b"(") {
            return match word {
                b"Some" => {
                    let inner = self.value(depth + 1)?;
                    self.expect(b")", "`)` after Some")?;
                    Ok(inner)
                }
                b"Uuid" => {
                    let start = self.pos;
                    while self.peek().is_some_and(|c| c != b')') {
                        self.pos += 1;
                    }
                    let text = (start, self.pos);
                    self.expect(b")", "`)` after a Uuid")?;
                    Ok(self.push(Kind::Uuid, text))
                }
                _ => self.tuple(name, depth),
            };
        }
        let kind = match word {
            b"None" => Kind::Null,
            b"true" | b"false" => Kind::Bool,
            b"NaN" | b"inf" => Kind::Float,
            _ => Kind::Ident,
        };
        Ok(self.push(kind, name))
    }

    fn struct_fields(&mut self, name: (usize, usize), depth: usize) -> Result<NodeId, TreeError> {
        let id = self.push(Kind::Struct, name);
        let mut last = NONE;
        loop {
            let field = self.ident();
            if field.0 == field.1 {
                return Err(self.err("a field name"));
            }
            self.expect(b": ", "`: ` after a field name")?;
            let child = self.value(depth + 1)?;
            self.nodes[child as usize].field = (field.0 as u32, field.1 as u32);
            self.link(id, &mut last, child);
            if self.eat(b", ") {
                continue;
            }
            self.expect(b" }", "`, ` or ` }` in a struct")?;
            return Ok(id);
        }
    }

    fn tuple(&mut self, name: (usize, usize), depth: usize) -> Result<NodeId, TreeError> {
        let id = self.push(Kind::Tuple, name);
        let mut last = NONE;
        loop {
            let child = self.value(depth + 1)?;
            self.link(id, &mut last, child);
            if self.eat(b", ") {
                continue;
            }
            self.expect(b")", "`, ` or `)` in a tuple")?;
            return Ok(id);
        }
    }

    fn list(&mut self, depth: usize) -> Result<NodeId, TreeError> {
        let start = self.pos;
        self.pos += 1;
        let id = self.push(Kind::List, (start, start));
        if self.eat(b"]") {
            return Ok(id);
        }
        let mut last = NONE;
        loop {
            let child = self.value(depth + 1)?;
            self.link(id, &mut last, child);
            if self.eat(b", ") {
                continue;
            }
            self.expect(b"]", "`, ` or `]` in a list")?;
            return Ok(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use kafka_protocol::codec::Uuid;

    #[derive(Debug)]
    #[allow(dead_code)]
    struct Inner {
        name: Option<String>,
        id: Uuid,
        data: Bytes,
    }

    #[derive(Debug)]
    #[allow(dead_code)]
    struct Outer {
        a: i16,
        f: f64,
        g: f64,
        ok: bool,
        none: Option<i32>,
        items: Vec<Inner>,
        empty: Vec<i32>,
        t: (i32, i64),
    }

    #[test]
    fn parses_derived_debug() {
        let v = Outer {
            a: -5,
            f: 1e-7,
            g: f64::NEG_INFINITY,
            ok: true,
            none: None,
            items: vec![Inner {
                name: Some("x \"y\" }, ]".into()),
                id: Uuid::from_halves(1, 2),
                data: Bytes::from_static(b"\x00\"\\"),
            }],
            empty: vec![],
            t: (1, 2),
        };
        let mut t = DebugTree::default();
        let root = t.parse_debug(&v).unwrap();
        assert_eq!(t.kind(root), Kind::Struct);
        assert_eq!(t.text_of(root), "Outer");
        let a = t.child(root, "a").unwrap();
        assert_eq!(t.int(a), Some(-5));
        assert_eq!(t.kind(t.child(root, "f").unwrap()), Kind::Float);
        assert_eq!(t.kind(t.child(root, "g").unwrap()), Kind::Float);
        assert_eq!(t.kind(t.child(root, "ok").unwrap()), Kind::Bool);
        assert_eq!(t.kind(t.child(root, "none").unwrap()), Kind::Null);
        let items = t.child(root, "items").unwrap();
        assert_eq!(t.child_count(items), 1);
        let inner = t.children(items).next().unwrap();
        let name = t.child(inner, "name").unwrap();
        assert_eq!(t.kind(name), Kind::Str);
        assert_eq!(t.text_of(name), r#"x \"y\" }, ]"#);
        let id = t.child(inner, "id").unwrap();
        assert_eq!(t.kind(id), Kind::Uuid);
        assert_eq!(t.text_of(id), Uuid::from_halves(1, 2).to_string());
        assert_eq!(t.kind(t.child(inner, "data").unwrap()), Kind::Bytes);
        assert_eq!(t.child_count(t.child(root, "empty").unwrap()), 0);
        let tup = t.child(root, "t").unwrap();
        assert_eq!(t.kind(tup), Kind::Tuple);
        assert_eq!(t.child_count(tup), 2);
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        let mut t = DebugTree::default();
        for bad in [
            "",
            "X { a: 1",
            "[1, 2",
            "\"abc",
            "X { : 1 }",
            "Some(1",
            "Uuid(abc",
            "1 2",
            "{",
            "b\"\\",
        ] {
            assert!(t.parse_str(bad).is_err(), "{bad:?}");
        }
        let deep = "[".repeat(1000) + &"]".repeat(1000);
        assert!(t.parse_str(&deep).is_err());
    }

    #[test]
    fn reuses_buffers() {
        let mut t = DebugTree::default();
        t.parse_str("A { x: [1, 2, 3] }").unwrap();
        let root = t.parse_str("B { y: 1 }").unwrap();
        assert_eq!(t.text_of(root), "B");
        assert_eq!(t.ids().len(), 2);
    }
}
