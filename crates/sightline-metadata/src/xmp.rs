//! XMP packets: parsed with a namespace-aware pull parser into a small
//! bounded tree, then flattened the way ExifTool names XMP tags
//! (`XMP-<group>:<Property>`, structures flattened by concatenating
//! names, e.g. `xmpMM:History/stEvt:action` → `XMP-xmpMM:HistoryAction`).
//!
//! Hostile packets are cut short, not followed: a DOCTYPE (the door to
//! entity expansion) ends parsing, custom entities are never expanded,
//! and depth, node count and size are capped.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use serde_json::Value as Json;
use sightline_core::{MetaField, MetaIssue};

const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const MAX_DEPTH: usize = 64;
const MAX_NODES: usize = 50_000;

#[derive(Debug, Default)]
struct Node {
    ns: String,
    prefix: String,
    local: String,
    attrs: Vec<(String, String, String, String)>, // ns, prefix, local, value
    children: Vec<Node>,
    text: String,
}

impl Node {
    fn is_rdf(&self, local: &str) -> bool {
        self.ns == RDF && self.local == local
    }
    fn attr(&self, ns: &str, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.0 == ns && a.2 == local)
            .map(|a| a.3.as_str())
    }
}

/// Read one XMP packet into fields.
pub(crate) fn read(packet: &[u8], origin: &str) -> (Vec<MetaField>, Vec<MetaIssue>) {
    let mut issues = Vec::new();
    let issue = |code: &str, message: String| MetaIssue {
        origin: origin.to_string(),
        code: code.to_string(),
        message,
    };
    if packet.len() > crate::container::MAX_TEXT {
        issues.push(issue(
            "xmp-too-large",
            format!("xmp packet of {} bytes is over the limit", packet.len()),
        ));
        return (Vec::new(), issues);
    }
    let root = match parse(packet) {
        Ok(r) => r,
        Err(e) => {
            let (code, msg, partial) = *e;
            issues.push(issue(code, msg));
            match partial {
                Some(r) => r,
                None => return (Vec::new(), issues),
            }
        }
    };
    let mut acc = Acc::default();
    find_descriptions(&root, &mut acc, 0);
    let fields = acc
        .order
        .into_iter()
        .map(|(key, mut vals, path)| {
            let value = if vals.len() == 1 {
                Json::String(vals.pop().unwrap_or_default())
            } else {
                Json::Array(vals.into_iter().map(Json::String).collect())
            };
            MetaField {
                key,
                value,
                origin: format!("{origin}/{path}"),
            }
        })
        .collect();
    (fields, issues)
}

type ParseErr = Box<(&'static str, String, Option<Node>)>;

fn parse(packet: &[u8]) -> Result<Node, ParseErr> {
    // Some writers put NULs or padding around the packet.
    let packet = trim_packet(packet);
    let mut reader = NsReader::from_reader(packet);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Node> = vec![Node::default()];
    let mut nodes = 0usize;
    loop {
        let ev = reader.read_resolved_event();
        let (res, ev) = match ev {
            Ok(x) => x,
            Err(e) => {
                return Err(Box::new((
                    "xmp-malformed",
                    format!("xml error at byte {}: {}", reader.buffer_position(), e),
                    close_all(stack),
                )));
            }
        };
        match ev {
            Event::DocType(_) => {
                return Err(Box::new((
                    "xmp-doctype",
                    "xmp declares a doctype; entity definitions are not followed".into(),
                    close_all(stack),
                )));
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                nodes += 1;
                if nodes > MAX_NODES {
                    return Err(Box::new((
                        "xmp-too-large",
                        format!("xmp has more than {MAX_NODES} elements"),
                        close_all(stack),
                    )));
                }
                if stack.len() > MAX_DEPTH {
                    return Err(Box::new((
                        "xmp-too-deep",
                        format!("xmp nests deeper than {MAX_DEPTH} elements"),
                        close_all(stack),
                    )));
                }
                let ns = ns_of(&res);
                let qn = e.name();
                let mut node = Node {
                    ns,
                    prefix: qn
                        .prefix()
                        .map(|p| String::from_utf8_lossy(p.as_ref()).into_owned())
                        .unwrap_or_default(),
                    local: String::from_utf8_lossy(qn.local_name().as_ref()).into_owned(),
                    ..Node::default()
                };
                for a in e.attributes().with_checks(false).flatten() {
                    let key = a.key;
                    if key.as_ref().starts_with(b"xmlns") {
                        continue;
                    }
                    let (r, local) = reader.resolve_attribute(key);
                    let value = a
                        .unescape_value()
                        .map(|v| v.into_owned())
                        .unwrap_or_else(|_| String::from_utf8_lossy(&a.value).into_owned());
                    node.attrs.push((
                        ns_of(&r),
                        key.prefix()
                            .map(|p| String::from_utf8_lossy(p.as_ref()).into_owned())
                            .unwrap_or_default(),
                        String::from_utf8_lossy(local.as_ref()).into_owned(),
                        value,
                    ));
                }
                if matches!(ev, Event::Empty(_)) {
                    if let Some(top) = stack.last_mut() {
                        top.children.push(node);
                    }
                } else {
                    stack.push(node);
                }
            }
            Event::End(_) if stack.len() > 1 => {
                let n = stack.pop().unwrap_or_default();
                if let Some(top) = stack.last_mut() {
                    top.children.push(n);
                }
            }
            Event::Text(t) => {
                if let (Some(top), Ok(s)) = (stack.last_mut(), t.decode()) {
                    top.text.push_str(&s);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::GeneralRef(r) => {
                let ch = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten()
                } else {
                    match &*r {
                        b"amp" => Some('&'),
                        b"lt" => Some('<'),
                        b"gt" => Some('>'),
                        b"quot" => Some('"'),
                        b"apos" => Some('\''),
                        _ => None, // custom entities are never expanded
                    }
                };
                if let (Some(top), Some(c)) = (stack.last_mut(), ch) {
                    top.text.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(close_all(stack).unwrap_or_default())
}

fn close_all(mut stack: Vec<Node>) -> Option<Node> {
    while stack.len() > 1 {
        let n = stack.pop()?;
        stack.last_mut()?.children.push(n);
    }
    stack.pop()
}

fn trim_packet(p: &[u8]) -> &[u8] {
    let start = p.iter().position(|&c| c == b'<').unwrap_or(p.len());
    let end = p.iter().rposition(|&c| c == b'>').map_or(start, |e| e + 1);
    &p[start..end.max(start)]
}

fn ns_of(r: &ResolveResult<'_>) -> String {
    match r {
        ResolveResult::Bound(ns) => String::from_utf8_lossy(ns.as_ref()).into_owned(),
        _ => String::new(),
    }
}

/// ExifTool's group name for a namespace URI; unknown namespaces use the
/// packet's own prefix.
fn group(ns: &str, prefix: &str) -> String {
    let g = match ns {
        "http://ns.adobe.com/xap/1.0/" => "xmp",
        "http://ns.adobe.com/xap/1.0/mm/" => "xmpMM",
        "http://ns.adobe.com/xap/1.0/rights/" => "xmpRights",
        "http://purl.org/dc/elements/1.1/" => "dc",
        "http://ns.adobe.com/photoshop/1.0/" => "photoshop",
        "http://ns.adobe.com/exif/1.0/" => "exif",
        "http://ns.adobe.com/tiff/1.0/" => "tiff",
        "http://ns.adobe.com/exif/1.0/aux/" => "aux",
        "http://ns.adobe.com/camera-raw-settings/1.0/" => "crs",
        "http://ns.adobe.com/pdf/1.3/" => "pdf",
        "http://cipa.jp/exif/1.0/" => "exifEX",
        "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/" => "iptcCore",
        "http://iptc.org/std/Iptc4xmpExt/2008-02-29/" => "iptcExt",
        "http://ns.microsoft.com/photo/1.0/" | "http://ns.microsoft.com/photo/1.0" => "microsoft",
        "adobe:ns:meta/" => "x",
        _ => return prefix.to_string(),
    };
    g.to_string()
}

fn ucfirst(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[derive(Default)]
struct Acc {
    /// key, values, path of the first occurrence.
    order: Vec<(String, Vec<String>, String)>,
}

impl Acc {
    fn push(&mut self, key: String, value: String, path: &str) {
        if self.order.len() >= 10_000 {
            return;
        }
        match self.order.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, v, _)) => v.push(value),
            None => self.order.push((key, vec![value], path.to_string())),
        }
    }
}

fn find_descriptions(n: &Node, acc: &mut Acc, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    if n.is_rdf("Description") {
        description(n, None, acc, depth);
        return;
    }
    // x:xmpmeta's x:xmptk attribute is the toolkit.
    if n.local == "xmpmeta"
        && let Some(tk) = n.attr("adobe:ns:meta/", "xmptk")
    {
        acc.push(
            "XMP-x:XMPToolkit".into(),
            tk.to_string(),
            "x:xmpmeta/@x:xmptk",
        );
    }
    for c in &n.children {
        find_descriptions(c, acc, depth + 1);
    }
}

/// `parent` is (group, name prefix) when inside a structure.
fn description(n: &Node, parent: Option<(&str, &str)>, acc: &mut Acc, depth: usize) {
    for (ns, prefix, local, value) in &n.attrs {
        if ns == RDF || ns == "http://www.w3.org/XML/1998/namespace" || ns.is_empty() {
            continue;
        }
        let (g, name) = match parent {
            Some((g, p)) => (g.to_string(), format!("{p}{}", ucfirst(local))),
            None => (group(ns, prefix), ucfirst(local)),
        };
        let path = format!("{prefix}:{local}");
        acc.push(format!("XMP-{g}:{name}"), date(&name, value), &path);
    }
    for c in &n.children {
        property(c, parent, acc, depth + 1);
    }
}

fn property(n: &Node, parent: Option<(&str, &str)>, acc: &mut Acc, depth: usize) {
    if depth > MAX_DEPTH || n.ns == RDF {
        return;
    }
    let (g, name) = match parent {
        Some((g, p)) => (g.to_string(), format!("{p}{}", ucfirst(&n.local))),
        None => (group(&n.ns, &n.prefix), ucfirst(&n.local)),
    };
    let path = format!("{}:{}", n.prefix, n.local);
    let key = format!("XMP-{g}:{name}");
    let is_struct = n.attr(RDF, "parseType") == Some("Resource");
    if is_struct {
        for c in &n.children {
            property(c, Some((&g, &name)), acc, depth + 1);
        }
        return;
    }
    if let Some(list) = n
        .children
        .iter()
        .find(|c| c.is_rdf("Seq") || c.is_rdf("Bag") || c.is_rdf("Alt"))
    {
        let alt = list.is_rdf("Alt");
        for li in list.children.iter().filter(|c| c.is_rdf("li")) {
            let li_struct = li.attr(RDF, "parseType") == Some("Resource")
                || li.children.iter().any(|c| c.is_rdf("Description"))
                || li
                    .attrs
                    .iter()
                    .any(|a| a.0 != RDF && !a.0.ends_with("XML/1998/namespace"));
            if li_struct && !alt {
                if let Some(d) = li.children.iter().find(|c| c.is_rdf("Description")) {
                    description(d, Some((&g, &name)), acc, depth + 2);
                } else {
                    description(li, Some((&g, &name)), acc, depth + 2);
                }
            } else {
                acc.push(key.clone(), date(&name, li.text.trim()), &path);
            }
            if alt {
                break; // x-default (the first) is the value
            }
        }
        return;
    }
    if let Some(d) = n.children.iter().find(|c| c.is_rdf("Description")) {
        description(d, Some((&g, &name)), acc, depth + 1);
        return;
    }
    if n.attrs
        .iter()
        .any(|a| a.0 != RDF && !a.0.is_empty() && !a.0.ends_with("XML/1998/namespace"))
    {
        description(n, Some((&g, &name)), acc, depth + 1);
        return;
    }
    let value = n
        .attr(RDF, "resource")
        .map(str::to_string)
        .unwrap_or_else(|| n.text.trim().to_string());
    acc.push(key, date(&name, &value), &path);
}

/// ExifTool shows XMP dates in EXIF layout: `2008-03-15T09:52:01-04:00`
/// → `2008:03:15 09:52:01-04:00`. Only for date-valued properties.
fn date(name: &str, v: &str) -> String {
    let is_date = name.contains("Date") || name.ends_with("When");
    if !is_date {
        return v.to_string();
    }
    let b = v.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    if !digits(0..4) {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len());
    for (i, c) in v.char_indices() {
        let c = match (i, c) {
            (4 | 7, '-') => ':',
            (10, 'T') => ' ',
            _ => c,
        };
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(x: &str) -> Vec<(String, Json)> {
        let (f, _) = read(x.as_bytes(), "t");
        f.into_iter().map(|f| (f.key, f.value)).collect()
    }

    #[test]
    fn attributes_elements_lists_and_structures() {
        let x = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 5.1.2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
     xmlns:xapMM="http://ns.adobe.com/xap/1.0/mm/"
     xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
     xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
     xmp:CreatorTool="Adobe Photoshop CS2 Windows" xmp:CreateDate="2008-03-15T09:52:01-04:00">
   <photoshop:DateCreated>2003-08-31</photoshop:DateCreated>
   <xapMM:History><rdf:Seq>
     <rdf:li stEvt:action="created" stEvt:when="2010-03-04T11:59:38+01:00"/>
     <rdf:li rdf:parseType="Resource"><stEvt:action>saved</stEvt:action><stEvt:when>2010-03-04T12:00:00+01:00</stEvt:when></rdf:li>
   </rdf:Seq></xapMM:History>
  </rdf:Description>
 </rdf:RDF></x:xmpmeta>"#;
        let f = fields(x);
        let get = |k: &str| f.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.clone());
        assert_eq!(get("XMP-x:XMPToolkit"), Some(Json::from("XMP Core 5.1.2")));
        assert_eq!(
            get("XMP-xmp:CreatorTool"),
            Some(Json::from("Adobe Photoshop CS2 Windows"))
        );
        assert_eq!(
            get("XMP-xmp:CreateDate"),
            Some(Json::from("2008:03:15 09:52:01-04:00"))
        );
        assert_eq!(
            get("XMP-photoshop:DateCreated"),
            Some(Json::from("2003:08:31"))
        );
        assert_eq!(
            get("XMP-xmpMM:HistoryAction"),
            Some(serde_json::json!(["created", "saved"]))
        );
        assert_eq!(
            get("XMP-xmpMM:HistoryWhen"),
            Some(serde_json::json!([
                "2010:03:04 11:59:38+01:00",
                "2010:03:04 12:00:00+01:00"
            ]))
        );
    }

    #[test]
    fn doctype_and_entities_are_refused() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:format>&lol2;</dc:format></rdf:Description></rdf:RDF></x:xmpmeta>"#;
        let (f, issues) = read(bomb.as_bytes(), "t");
        assert!(f.is_empty());
        assert_eq!(issues[0].code, "xmp-doctype");
    }

    #[test]
    fn deep_nesting_is_cut() {
        let mut x = String::from(r#"<x:xmpmeta xmlns:x="adobe:ns:meta/">"#);
        for _ in 0..10_000 {
            x.push_str("<a>");
        }
        let (_, issues) = read(x.as_bytes(), "t");
        assert_eq!(issues[0].code, "xmp-too-deep");
    }
}
