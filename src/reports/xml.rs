//! A small element tree over quick-xml for the XML report parsers: element
//! names, attributes, text and the byte offset each element starts at (for
//! line numbers in errors). Subtrees no parser reads (port lists, interface
//! tables) are skipped unbuilt, which keeps parsing fast; nesting is capped so
//! hostile input cannot exhaust the stack.
use super::text::line_of;
use crate::error::{Error, Result};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::path::Path;

/// Deeper nesting than any real report uses: treated as malformed input.
const MAX_DEPTH: usize = 200;

/// Elements whose contents no parser reads (HLS interface and port tables).
const SKIPPED: &[&str] =
    &["InterfaceSummary", "Args", "Interfaces", "ReportHWInterface", "ReportSWInterface", "ReportBurst", "FIFOInformation", "ReturnValue"];

#[derive(Debug, Default)]
pub(crate) struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
    /// Byte offset of the start tag in the document.
    pub offset: usize,
}

impl Node {
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Follow a path of child names.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, name| node.child(name))
    }

    /// Trimmed text of the element at `path`, if present.
    pub fn text_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path).map(|n| n.text.trim())
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A parsed document: its root element plus the source, for line numbers.
pub(crate) struct Document<'a> {
    pub root: Node,
    pub source: &'a str,
}

impl Document<'_> {
    pub fn line(&self, node: &Node) -> usize {
        line_of(self.source.as_bytes(), node.offset)
    }
}

/// Name of the document's root element, reading no further than needed.
pub(crate) fn root_name(text: &str) -> Option<String> {
    let mut reader = Reader::from_str(text);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => return Some(name_of(&e)),
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

fn name_of(e: &BytesStart) -> String {
    String::from_utf8_lossy(e.name().as_ref()).into_owned()
}

/// Parse a whole document into a tree. Errors name the file and line.
pub(crate) fn parse<'a>(path: &Path, text: &'a str) -> Result<Document<'a>> {
    let mut reader = Reader::from_str(text);
    let err_at = |pos: u64, msg: String| {
        let offset = usize::try_from(pos).unwrap_or(usize::MAX);
        Error::input_at(path, Some(line_of(text.as_bytes(), offset)), None, msg)
    };
    let mut stack: Vec<Node> = Vec::new();
    let root = loop {
        let before = reader.buffer_position();
        let event = reader.read_event().map_err(|e| err_at(reader.error_position(), format!("malformed XML: {e}")))?;
        match event {
            Event::Start(e) => {
                let name = name_of(&e);
                if SKIPPED.contains(&name.as_str()) {
                    reader
                        .read_to_end(e.name())
                        .map_err(|err| err_at(before, format!("truncated or malformed XML inside <{name}>: {err}")))?;
                    continue;
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(err_at(before, format!("XML nested deeper than {MAX_DEPTH} levels")));
                }
                stack.push(element(path, text, &e, before)?);
            }
            Event::Empty(e) => {
                let node = element(path, text, &e, before)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Ok(Document { root: node, source: text }),
                }
            }
            Event::End(_) => {
                // quick-xml checks that end names match their start tags.
                let Some(node) = stack.pop() else {
                    return Err(err_at(before, "closing tag without an opening tag".into()));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => break node,
                }
            }
            Event::Text(t) => {
                if let Some(node) = stack.last_mut() {
                    let s = t.unescape().map_err(|e| err_at(before, format!("bad XML text: {e}")))?;
                    node.text.push_str(&s);
                }
            }
            Event::CData(t) => {
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::Eof => {
                return match stack.last() {
                    Some(open) => Err(Error::input_at(
                        path,
                        Some(line_of(text.as_bytes(), text.len())),
                        None,
                        format!("truncated XML: <{}> opened at line {} is never closed", open.name, line_of(text.as_bytes(), open.offset)),
                    )),
                    None => Err(Error::input(path, "no XML element found")),
                };
            }
            _ => {}
        }
    };
    Ok(Document { root, source: text })
}

fn element(path: &Path, text: &str, e: &BytesStart, offset: u64) -> Result<Node> {
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let mut attrs = Vec::new();
    for attr in e.attributes() {
        let attr =
            attr.map_err(|err| Error::input_at(path, Some(line_of(text.as_bytes(), offset)), None, format!("bad XML attribute: {err}")))?;
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        let value = attr
            .unescape_value()
            .map_err(|err| Error::input_at(path, Some(line_of(text.as_bytes(), offset)), None, format!("bad XML attribute: {err}")))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Node { name: name_of(e), attrs, text: String::new(), children: Vec::new(), offset })
}
