//! Writing responses. Compact on purpose: scripts in the field search the raw body for
//! `<i4>0</i4>`, so an integer is always `<value><i4>N</i4></value>` with no whitespace.

use std::fmt::Write;

use quick_xml::escape::escape;

use super::{Fault, Value};

pub const RESPONSE_HEAD: &str = "<?xml version=\"1.0\"?>\n<methodResponse><params><param>";
pub const RESPONSE_TAIL: &str = "</param></params></methodResponse>\n";

/// A complete response carrying one value.
pub fn response(value: &Value) -> String {
    let mut out = String::from(RESPONSE_HEAD);
    write_value(value, &mut out);
    out.push_str(RESPONSE_TAIL);
    out
}

pub fn write_value(value: &Value, out: &mut String) {
    out.push_str("<value>");
    match value {
        Value::Int(n) => {
            let _ = write!(out, "<i4>{n}</i4>");
        }
        Value::Bool(b) => {
            let _ = write!(out, "<boolean>{}</boolean>", u8::from(*b));
        }
        Value::Str(s) | Value::Other(s) => {
            let _ = write!(out, "<string>{}</string>", escape(s.as_str()));
        }
        Value::Double(d) => {
            let _ = write!(out, "<double>{d}</double>");
        }
        Value::Nil => out.push_str("<nil/>"),
        Value::Array(items) => {
            out.push_str("<array><data>");
            for item in items {
                write_value(item, out);
            }
            out.push_str("</data></array>");
        }
        Value::Struct(members) => {
            out.push_str("<struct>");
            for (name, member) in members {
                let _ = write!(out, "<member><name>{}</name>", escape(name.as_str()));
                write_value(member, out);
                out.push_str("</member>");
            }
            out.push_str("</struct>");
        }
    }
    out.push_str("</value>");
}

/// `<fault>` with a struct of `faultCode` (i4) and `faultString`.
pub fn write_fault(fault: &Fault) -> String {
    let body = Value::Struct(vec![
        ("faultCode".into(), Value::Int(fault.code as i64)),
        ("faultString".into(), Value::Str(fault.message.clone())),
    ]);
    let mut out = String::from("<?xml version=\"1.0\"?>\n<methodResponse><fault>");
    write_value(&body, &mut out);
    out.push_str("</fault></methodResponse>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xmlrpc::FaultCode;

    #[test]
    fn integers_are_compact_i4() {
        let body = response(&Value::Int(0));
        assert!(body.contains("<value><i4>0</i4></value>"), "{body}");
        assert!(response(&Value::Int(-1)).contains("<value><i4>-1</i4></value>"));
    }

    #[test]
    fn structs_and_arrays() {
        let value = Value::Array(vec![Value::Struct(vec![
            ("IP".into(), Value::Str("203.0.113.5".into())),
            ("TYPE".into(), Value::Int(1)),
            ("REGISTERED".into(), Value::Bool(false)),
        ])]);
        let mut out = String::new();
        write_value(&value, &mut out);
        assert_eq!(
            out,
            "<value><array><data><value><struct>\
             <member><name>IP</name><value><string>203.0.113.5</string></value></member>\
             <member><name>TYPE</name><value><i4>1</i4></value></member>\
             <member><name>REGISTERED</name><value><boolean>0</boolean></value></member>\
             </struct></value></data></array></value>"
        );
    }

    #[test]
    fn faults_escape_their_text() {
        let body = write_fault(&Fault::new(FaultCode::NotAuthorized, "a <b> & c"));
        assert!(
            body.contains("<name>faultCode</name><value><i4>10</i4></value>"),
            "{body}"
        );
        assert!(body.contains("a &lt;b&gt; &amp; c"), "{body}");
        let parsed = crate::xmlrpc::parse_request(
            body.replace("methodResponse", "methodCall")
                .replace("<fault>", "<methodName>x</methodName><params><param>")
                .replace("</fault>", "</param></params>")
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            parsed.params[0],
            Value::Struct(vec![
                ("faultCode".into(), Value::Int(10)),
                ("faultString".into(), Value::Str("a <b> & c".into())),
            ])
        );
    }
}
