//! Parsing `<methodCall>` bodies with quick-xml. Refuses DTDs and entity declarations,
//! unknown entities, deep nesting and malformed XML with fault 30, before interpreting
//! anything. Accepts typed and untyped strings, `<int>`/`<i4>`/`<i8>`, `<boolean>1</boolean>`,
//! with or without an XML declaration and whitespace.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::Reader;

use super::{Fault, MethodCall, Value};
use crate::wire::shorten;

/// Deepest element nesting accepted. A CLN call needs 6 (methodCall/params/param/value/
/// array/data/value...); 32 leaves room for nested structs and stops depth bombs.
const MAX_DEPTH: usize = 32;
/// Most elements accepted in one call (the body size limit bounds this too).
const MAX_ELEMENTS: usize = 10_000;

/// A parsed element: name, child elements and text, in document order.
#[derive(Debug, Default)]
struct Element {
    name: String,
    children: Vec<Node>,
}

#[derive(Debug)]
enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|n| match n {
                Node::Text(t) => Some(t.as_str()),
                Node::Element(_) => None,
            })
            .collect()
    }

    fn has_elements(&self) -> bool {
        self.elements().next().is_some()
    }

    fn only_child(&self, what: &str) -> Result<&Element, Fault> {
        let mut elements = self.elements();
        match (elements.next(), elements.next()) {
            (Some(e), None) => Ok(e),
            _ => Err(Fault::invalid(format!(
                "<{}> must hold exactly one {what}",
                self.name
            ))),
        }
    }
}

pub fn parse_request(body: &[u8]) -> Result<MethodCall, Fault> {
    let text =
        std::str::from_utf8(body).map_err(|_| Fault::invalid("request body is not valid UTF-8"))?;
    let root = parse_tree(text)?;
    if root.name != "methodCall" {
        return Err(Fault::invalid("expected a <methodCall> document"));
    }
    let mut method = None;
    let mut params = Vec::new();
    for child in root.elements() {
        match child.name.as_str() {
            "methodName" if !child.has_elements() => method = Some(child.text().trim().to_string()),
            "params" => {
                for param in child.elements() {
                    if param.name != "param" {
                        return Err(Fault::invalid("<params> may only hold <param>"));
                    }
                    params.push(value(param.only_child("<value>")?)?);
                }
            }
            other => {
                return Err(Fault::invalid(format!(
                    "unexpected <{other}> in <methodCall>"
                )))
            }
        }
    }
    let method = method
        .filter(|m| !m.is_empty())
        .ok_or_else(|| Fault::invalid("missing <methodName>"))?;
    Ok(MethodCall { method, params })
}

fn value(element: &Element) -> Result<Value, Fault> {
    if element.name != "value" {
        return Err(Fault::invalid(format!(
            "expected <value>, found <{}>",
            element.name
        )));
    }
    if !element.has_elements() {
        // Untyped `<value>text</value>` is a string (XML-RPC spec).
        return Ok(Value::Str(element.text()));
    }
    let typed = element.only_child("typed value")?;
    let text = typed.text();
    let scalar_only = || {
        if typed.has_elements() {
            Err(Fault::invalid(format!(
                "<{}> cannot hold elements",
                typed.name
            )))
        } else {
            Ok(())
        }
    };
    match typed.name.as_str() {
        "i4" | "int" | "i8" => {
            scalar_only()?;
            text.trim()
                .parse::<i64>()
                .map(Value::Int)
                .map_err(|_| Fault::invalid(format!("not an integer: {}", shorten(&text))))
        }
        "boolean" => {
            scalar_only()?;
            match text.trim() {
                "1" | "true" => Ok(Value::Bool(true)),
                "0" | "false" => Ok(Value::Bool(false)),
                other => Err(Fault::invalid(format!("not a boolean: {}", shorten(other)))),
            }
        }
        "string" => {
            scalar_only()?;
            Ok(Value::Str(text))
        }
        "double" => {
            scalar_only()?;
            text.trim()
                .parse::<f64>()
                .map(Value::Double)
                .map_err(|_| Fault::invalid("not a double"))
        }
        "base64" | "dateTime.iso8601" => {
            scalar_only()?;
            Ok(Value::Other(text))
        }
        "nil" => Ok(Value::Nil),
        "array" => {
            let data = typed.only_child("<data>")?;
            if data.name != "data" {
                return Err(Fault::invalid("<array> must hold <data>"));
            }
            data.elements()
                .map(value)
                .collect::<Result<_, _>>()
                .map(Value::Array)
        }
        "struct" => typed
            .elements()
            .map(member)
            .collect::<Result<_, _>>()
            .map(Value::Struct),
        other => Err(Fault::invalid(format!("unknown value type <{other}>"))),
    }
}

fn member(element: &Element) -> Result<(String, Value), Fault> {
    if element.name != "member" {
        return Err(Fault::invalid("<struct> may only hold <member>"));
    }
    let mut name = None;
    let mut member_value = None;
    for child in element.elements() {
        match child.name.as_str() {
            "name" if name.is_none() => name = Some(child.text()),
            "value" if member_value.is_none() => member_value = Some(value(child)?),
            _ => return Err(Fault::invalid("<member> holds one <name> and one <value>")),
        }
    }
    match (name, member_value) {
        (Some(n), Some(v)) => Ok((n, v)),
        _ => Err(Fault::invalid("<member> holds one <name> and one <value>")),
    }
}

/// Reads the whole document into a tree, refusing what XML-RPC never needs.
fn parse_tree(text: &str) -> Result<Element, Fault> {
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| Fault::invalid(format!("malformed XML: {e}")))?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(Fault::invalid("content after the document element"));
                }
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err(Fault::invalid("XML nested too deeply or too large"));
                }
                let name = start.name().as_ref().to_string();
                stack.push(Element {
                    name,
                    children: Vec::new(),
                });
            }
            Event::End(_) => {
                let done = stack
                    .pop()
                    .ok_or_else(|| Fault::invalid("unbalanced end tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(done)),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content())?,
            Event::CData(c) => push_text(&mut stack, &c.into_inner())?,
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => resolve_predefined_entity(&reference)
                        .ok_or_else(|| Fault::invalid("undeclared entity reference"))?
                        .to_string(),
                    Err(_) => return Err(Fault::invalid("invalid character reference")),
                };
                push_text(&mut stack, &resolved)?;
            }
            Event::DocType(_) => {
                return Err(Fault::invalid(
                    "DTDs and entity declarations are not accepted",
                ))
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Empty(_) => return Err(Fault::invalid("malformed XML")),
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(Fault::invalid("truncated XML"));
    }
    root.ok_or_else(|| Fault::invalid("empty request"))
}

/// Text between elements: whitespace outside the root is ignored, other text outside the
/// root is an error; inside an element it is kept (whitespace matters in strings).
fn push_text(stack: &mut [Element], text: &str) -> Result<(), Fault> {
    match stack.last_mut() {
        Some(parent) => {
            // Merge with a preceding text node, so "a&amp;b" stays one string.
            if let Some(Node::Text(previous)) = parent.children.last_mut() {
                previous.push_str(text);
            } else {
                parent.children.push(Node::Text(text.to_string()));
            }
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(Fault::invalid("text outside the document element")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xmlrpc::FaultCode;

    fn call(body: &str) -> Result<MethodCall, Fault> {
        parse_request(body.as_bytes())
    }

    #[test]
    fn typed_and_untyped_values() {
        let got = call(
            r#"<?xml version="1.0" encoding="UTF-8"?>
            <methodCall>
              <methodName>registration.license</methodName>
              <params>
                <param><value>demo|1|abc</value></param>
                <param><value><string> 203.0.113.5 </string></value></param>
                <param><value><int>1</int></value></param>
                <param><value><i4> -1 </i4></value></param>
                <param><value><boolean>1</boolean></value></param>
                <param><value><string>a &amp; b &#65;</string></value></param>
                <param><value/></param>
                <param><value><array><data><value><i4>2</i4></value></data></array></value></param>
                <param><value><struct><member><name>IP</name><value>x</value></member></struct></value></param>
              </params>
            </methodCall>"#,
        )
        .unwrap();
        assert_eq!(got.method, "registration.license");
        assert_eq!(
            got.params,
            vec![
                Value::Str("demo|1|abc".into()),
                Value::Str(" 203.0.113.5 ".into()),
                Value::Int(1),
                Value::Int(-1),
                Value::Bool(true),
                Value::Str("a & b A".into()),
                Value::Str(String::new()),
                Value::Array(vec![Value::Int(2)]),
                Value::Struct(vec![("IP".into(), Value::Str("x".into()))]),
            ]
        );
    }

    #[test]
    fn no_params_and_no_declaration() {
        let got = call("<methodCall><methodName>m</methodName></methodCall>").unwrap();
        assert_eq!(got.params, vec![]);
    }

    #[test]
    fn hostile_and_malformed_bodies_are_fault_30() {
        let deep = format!(
            "<methodCall><methodName>m</methodName><params><param>{}x{}</param></params></methodCall>",
            "<value><array><data>".repeat(40),
            "</data></array></value>".repeat(40)
        );
        let bodies: Vec<Vec<u8>> = vec![
            br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><methodCall><methodName>&lol;</methodName></methodCall>"#.to_vec(),
            b"<methodCall><methodName>m</methodName><params><param><value>&xxe;</value></param></params></methodCall>".to_vec(),
            b"<methodCall><methodName>m</methodName><params><param><value>".to_vec(),
            b"<methodCall><methodName>m</methodName></methodCall><extra/>".to_vec(),
            b"<methodCall><methodName>m</methodName></wrong>".to_vec(),
            b"\xff\xfe<methodCall/>".to_vec(),
            b"".to_vec(),
            b"not xml".to_vec(),
            b"<methodResponse/>".to_vec(),
            b"<methodCall><params/></methodCall>".to_vec(),
            b"<methodCall><methodName>m</methodName><params><param><value><int>x</int></value></param></params></methodCall>".to_vec(),
            b"<methodCall><methodName>m</methodName><params><param><value><boolean>2</boolean></value></param></params></methodCall>".to_vec(),
            b"<methodCall><methodName>m</methodName><params><param><value><blob/></value></param></params></methodCall>".to_vec(),
            deep.into_bytes(),
        ];
        for body in bodies {
            let fault = parse_request(&body).unwrap_err();
            assert_eq!(
                fault.code,
                FaultCode::InvalidArguments,
                "{}",
                String::from_utf8_lossy(&body)
            );
        }
    }
}
