//! JSON paths for error messages, built on the stack and rendered only when an error is raised.

/// One step of a path.
#[derive(Clone, Copy, Debug)]
enum Segment<'a> {
    /// The prefix given by the caller: `$`, `$[3]` or `?agent`.
    Root(&'a str),
    Key(&'a str),
    Index(usize),
}

/// A JSON path as a linked list of borrowed segments: extending it costs nothing, so validation
/// can carry it everywhere and pay for a string only when it fails.
#[derive(Clone, Copy, Debug)]
pub(crate) struct JsonPath<'a> {
    parent: Option<&'a JsonPath<'a>>,
    segment: Segment<'a>,
}

impl<'a> JsonPath<'a> {
    pub(crate) fn root(prefix: &'a str) -> Self {
        JsonPath {
            parent: None,
            segment: Segment::Root(prefix),
        }
    }

    pub(crate) fn key<'b>(&'b self, key: &'b str) -> JsonPath<'b> {
        JsonPath {
            parent: Some(self),
            segment: Segment::Key(key),
        }
    }

    pub(crate) fn index(&self, index: usize) -> JsonPath<'_> {
        JsonPath {
            parent: Some(self),
            segment: Segment::Index(index),
        }
    }

    /// `$[3].actor.mbox`; keys that are not plain identifiers (IRIs, language tags) are
    /// written in brackets: `$.result.extensions["https://example.com/x"]`.
    pub(crate) fn render(&self) -> String {
        let mut segments = Vec::new();
        let mut node = Some(self);
        while let Some(n) = node {
            segments.push(n.segment);
            node = n.parent;
        }
        let mut out = String::new();
        for segment in segments.into_iter().rev() {
            match segment {
                Segment::Root(prefix) => out.push_str(prefix),
                Segment::Key(key) if is_identifier(key) => {
                    out.push('.');
                    out.push_str(key);
                }
                Segment::Key(key) => {
                    out.push_str("[\"");
                    for c in key.chars() {
                        if c == '"' || c == '\\' {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push_str("\"]");
                }
                Segment::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
            }
        }
        out
    }
}

fn is_identifier(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_renders_keys_indexes_and_bracketed_iris() {
        let root = JsonPath::root("$[3]");
        let result = root.key("result");
        let ext = result.key("extensions");
        let iri = ext.key("https://example.com/x");
        assert_eq!(
            iri.render(),
            "$[3].result.extensions[\"https://example.com/x\"]"
        );
        let members = root.key("member");
        assert_eq!(members.index(2).key("mbox").render(), "$[3].member[2].mbox");
    }
}
