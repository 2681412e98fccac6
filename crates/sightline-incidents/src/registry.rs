//! The incident registry on disk: ACLED-compatible CSV and GeoJSON, in and
//! out. Reading never stops at a bad row: each is reported with its row (or
//! feature) number and reason, and the rest is read.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use serde_json::{Map, Value, json};
use sightline_core::Incident;

use crate::dates::parse_event_date;
use crate::error::IncidentError;

/// ACLED's columns, in ACLED's order; the CSV we write has exactly these.
pub const COLUMNS: [&str; 19] = [
    "event_id_cnty",
    "event_date",
    "time_precision",
    "event_type",
    "sub_event_type",
    "actor1",
    "actor2",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "notes",
    "fatalities",
    "tags",
];

/// Columns a file must have; the others may be missing (ACLED exports
/// also carry more, which are ignored).
const REQUIRED: [&str; 4] = ["event_id_cnty", "event_date", "latitude", "longitude"];

/// A row that was not read, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    /// Line of the CSV (the header is 1), or feature number (from 1).
    pub row: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub message: String,
}

/// What a registry file held.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub incidents: Vec<Incident>,
    pub problems: Vec<RowProblem>,
}

/// Read ACLED-style CSV. A missing required column fails the file; a bad
/// row is reported and skipped.
pub fn read_csv(file: &str, bytes: &[u8]) -> Result<Parsed, IncidentError> {
    let bad = |reason: String| IncidentError::BadFile {
        file: file.to_string(),
        reason,
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| bad(format!("no header row: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|c| !headers.iter().any(|h| h == *c))
        .copied()
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!(
            "missing column{} {} (the header has: {})",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            headers.join(", ")
        )));
    }
    let mut out = Parsed::default();
    let mut seen = BTreeSet::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                out.problems.push(RowProblem {
                    row,
                    id: None,
                    message: format!("not readable as CSV: {e}"),
                });
                continue;
            }
        };
        if record.iter().all(|f| f.is_empty()) {
            continue;
        }
        let mut fields: HashMap<&str, String> = HashMap::new();
        for (h, v) in headers.iter().zip(record.iter()) {
            fields.insert(h.as_str(), v.to_string());
        }
        if record.len() != headers.len() {
            out.problems.push(RowProblem {
                row,
                id: fields.get("event_id_cnty").cloned(),
                message: format!(
                    "{} fields where the header has {}",
                    record.len(),
                    headers.len()
                ),
            });
            continue;
        }
        accept(&mut out, &mut seen, row, incident_from(&fields));
    }
    Ok(out)
}

/// Read a GeoJSON FeatureCollection of Point features whose properties are
/// ACLED's columns (latitude and longitude come from the geometry).
pub fn read_geojson(file: &str, bytes: &[u8]) -> Result<Parsed, IncidentError> {
    let bad = |reason: String| IncidentError::BadFile {
        file: file.to_string(),
        reason,
    };
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
    let features = match doc.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => doc
            .get("features")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("a FeatureCollection without a features array".into()))?,
        other => {
            return Err(bad(format!(
                "expected a GeoJSON FeatureCollection, found type {}",
                other.unwrap_or("(none)")
            )));
        }
    };
    let mut out = Parsed::default();
    let mut seen = BTreeSet::new();
    for (i, f) in features.iter().enumerate() {
        let row = i + 1;
        let props = f.get("properties").and_then(Value::as_object);
        let mut fields: HashMap<&str, String> = HashMap::new();
        if let Some(p) = props {
            for c in COLUMNS {
                if let Some(v) = p.get(c) {
                    let s = match v {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        Value::Array(a) => a
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join("; "),
                        other => other.to_string(),
                    };
                    fields.insert(c, s);
                }
            }
        }
        let geometry = f.get("geometry");
        match geometry.and_then(|g| g.get("type")).and_then(Value::as_str) {
            Some("Point") => {
                let c = geometry
                    .and_then(|g| g.get("coordinates"))
                    .and_then(Value::as_array);
                match c.map(|c| c.as_slice()) {
                    Some([lon, lat, ..]) => {
                        fields.insert("longitude", lon.to_string());
                        fields.insert("latitude", lat.to_string());
                    }
                    _ => {
                        out.problems.push(RowProblem {
                            row,
                            id: fields.get("event_id_cnty").cloned(),
                            message: "Point without [longitude, latitude]".into(),
                        });
                        continue;
                    }
                }
            }
            other => {
                out.problems.push(RowProblem {
                    row,
                    id: fields.get("event_id_cnty").cloned(),
                    message: format!(
                        "geometry must be a Point, found {}",
                        other.unwrap_or("none")
                    ),
                });
                continue;
            }
        }
        accept(&mut out, &mut seen, row, incident_from(&fields));
    }
    Ok(out)
}

fn accept(
    out: &mut Parsed,
    seen: &mut BTreeSet<String>,
    row: usize,
    result: Result<Incident, (Option<String>, Vec<String>)>,
) {
    match result {
        Ok(incident) => {
            if !seen.insert(incident.id.clone()) {
                out.problems.push(RowProblem {
                    row,
                    id: Some(incident.id.clone()),
                    message: format!("event_id_cnty {} appears earlier in the file", incident.id),
                });
            } else {
                out.incidents.push(incident);
            }
        }
        Err((id, messages)) => out.problems.push(RowProblem {
            row,
            id,
            message: messages.join("; "),
        }),
    }
}

/// One row's fields to an incident, or every reason it is not one.
fn incident_from(f: &HashMap<&str, String>) -> Result<Incident, (Option<String>, Vec<String>)> {
    let get = |k: &str| f.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let mut problems = Vec::new();
    let id = get("event_id_cnty");
    let event_date = match parse_event_date(&get("event_date")) {
        Ok(d) => Some(d),
        Err(e) => {
            problems.push(e);
            None
        }
    };
    let number = |k: &str, problems: &mut Vec<String>| -> Option<f64> {
        let v = get(k).replace(',', ".");
        if v.is_empty() {
            problems.push(format!("{k} is empty"));
            return None;
        }
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() => Some(x),
            _ => {
                problems.push(format!("{k} {:?} is not a number", get(k)));
                None
            }
        }
    };
    let latitude = number("latitude", &mut problems);
    let longitude = number("longitude", &mut problems);
    let precision = |k: &str, default: u8, problems: &mut Vec<String>| -> u8 {
        let v = get(k);
        if v.is_empty() {
            return default;
        }
        match v.parse::<u8>() {
            Ok(p) => p,
            Err(_) => {
                problems.push(format!("{k} {v:?} is not 1, 2 or 3"));
                default
            }
        }
    };
    let time_precision = precision("time_precision", 1, &mut problems);
    let geo_precision = precision("geo_precision", 2, &mut problems);
    let fatalities = match get("fatalities") {
        v if v.is_empty() => None,
        v => match v.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                problems.push(format!("fatalities {v:?} is not a whole number"));
                None
            }
        },
    };
    let tags = get("tags")
        .split(';')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect();
    let (Some(event_date), Some(latitude), Some(longitude)) = (event_date, latitude, longitude)
    else {
        return Err((Some(id).filter(|i| !i.is_empty()), problems));
    };
    let incident = Incident {
        id: id.clone(),
        event_date,
        time_precision,
        event_type: get("event_type"),
        sub_event_type: get("sub_event_type"),
        actor1: get("actor1"),
        actor2: get("actor2"),
        country: get("country"),
        admin1: get("admin1"),
        admin2: get("admin2"),
        admin3: get("admin3"),
        location: get("location"),
        latitude,
        longitude,
        geo_precision,
        source: get("source"),
        notes: get("notes"),
        fatalities,
        tags,
    };
    problems.extend(incident.problems());
    if problems.is_empty() {
        Ok(incident)
    } else {
        Err((Some(id).filter(|i| !i.is_empty()), problems))
    }
}

fn cells(i: &Incident) -> [String; 19] {
    [
        i.id.clone(),
        i.event_date.format("%Y-%m-%d").to_string(),
        i.time_precision.to_string(),
        i.event_type.clone(),
        i.sub_event_type.clone(),
        i.actor1.clone(),
        i.actor2.clone(),
        i.country.clone(),
        i.admin1.clone(),
        i.admin2.clone(),
        i.admin3.clone(),
        i.location.clone(),
        format!("{:.4}", i.latitude),
        format!("{:.4}", i.longitude),
        i.geo_precision.to_string(),
        i.source.clone(),
        i.notes.clone(),
        i.fatalities.map(|n| n.to_string()).unwrap_or_default(),
        i.tags.join("; "),
    ]
}

/// A cell a spreadsheet would run as a formula gets a leading apostrophe
/// (OWASP's CSV-injection advice); registry text is data.
fn defuse(cell: String) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') if cell.parse::<f64>().is_err() => {
            format!("'{cell}")
        }
        _ => cell,
    }
}

/// Write incidents as ACLED-column CSV.
pub fn write_csv(incidents: &[Incident]) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_record(COLUMNS);
    for i in incidents {
        let _ = w.write_record(cells(i).map(defuse));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Write incidents as a GeoJSON FeatureCollection (RFC 7946: longitude
/// first), every ACLED column as a property.
pub fn write_geojson(incidents: &[Incident]) -> Value {
    let features: Vec<Value> = incidents
        .iter()
        .map(|i| {
            let mut props = Map::new();
            for (k, v) in COLUMNS.iter().zip(cells(i)) {
                let v = match *k {
                    "latitude" => json!(i.latitude),
                    "longitude" => json!(i.longitude),
                    "time_precision" => json!(i.time_precision),
                    "geo_precision" => json!(i.geo_precision),
                    "fatalities" => json!(i.fatalities),
                    "tags" => json!(i.tags),
                    _ => Value::String(v),
                };
                props.insert(k.to_string(), v);
            }
            json!({
                "type": "Feature",
                "id": i.id,
                "geometry": {"type": "Point", "coordinates": [i.longitude, i.latitude]},
                "properties": props,
            })
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "event_id_cnty,event_date,time_precision,event_type,sub_event_type,actor1,actor2,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,notes,fatalities,tags\n\
        AFG1,26 August 2021,1,Explosions/Remote violence,Suicide bomb,IS,,Afghanistan,Kabul,Kabul,,Kabul,34.5658,69.2120,1,media,\"Gate, crowd\",170,isis-k; airport\n";

    #[test]
    fn acled_rows_round_trip() {
        let p = read_csv("r.csv", GOOD.as_bytes()).expect("read");
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let i = &p.incidents[0];
        assert_eq!(i.event_date.to_string(), "2021-08-26");
        assert_eq!(i.notes, "Gate, crowd");
        assert_eq!(i.tags, vec!["isis-k", "airport"]);
        let again = read_csv("r.csv", write_csv(&p.incidents).as_bytes()).expect("reread");
        assert_eq!(again.incidents, p.incidents);
        let geo = serde_json::to_vec(&write_geojson(&p.incidents)).expect("json");
        let back = read_geojson("r.geojson", &geo).expect("geojson");
        assert_eq!(back.incidents, p.incidents);
    }

    #[test]
    fn formulas_are_defused_on_export() {
        let mut p = read_csv("r.csv", GOOD.as_bytes()).expect("read");
        p.incidents[0].notes = "=HYPERLINK(\"http://x\")".into();
        assert!(write_csv(&p.incidents).contains("'=HYPERLINK"));
    }

    #[test]
    fn bad_geojson_is_refused_whole_or_by_feature() {
        for (doc, says) in [
            (&b"{not json"[..], "not JSON"),
            (br#"{"type":"Feature"}"#, "found type Feature"),
            (
                br#"{"type":"FeatureCollection"}"#,
                "without a features array",
            ),
        ] {
            let err = read_geojson("r.geojson", doc).expect_err("refused");
            assert!(err.to_string().contains(says), "{err}");
        }
        let good = |id: &str, geometry: &str| {
            format!(
                r#"{{"type":"Feature","geometry":{geometry},"properties":{{"event_id_cnty":"{id}","event_date":"2021-08-26","location":"Kabul"}}}}"#
            )
        };
        let doc = format!(
            r#"{{"type":"FeatureCollection","features":[{},{},{},{},{}]}}"#,
            good("A", r#"{"type":"Point","coordinates":[69.2,34.5]}"#),
            good(
                "B",
                r#"{"type":"LineString","coordinates":[[69.2,34.5],[69.3,34.6]]}"#
            ),
            good("C", r#"{"type":"Point","coordinates":[69.2]}"#),
            good("D", r#"{"type":"Point","coordinates":[69.2,134.5]}"#),
            good("E", "null"),
        );
        let p = read_geojson("r.geojson", doc.as_bytes()).expect("read");
        assert_eq!(p.incidents.len(), 1);
        assert_eq!(p.incidents[0].id, "A");
        let got: Vec<(usize, Option<&str>, &str)> = p
            .problems
            .iter()
            .map(|x| (x.row, x.id.as_deref(), x.message.as_str()))
            .collect();
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0].0, 2);
        assert!(got[0].2.contains("must be a Point, found LineString"));
        assert_eq!((got[1].0, got[1].1), (3, Some("C")));
        assert!(got[2].2.contains("latitude 134.5"), "{got:?}");
        assert!(got[3].2.contains("found none"), "{got:?}");
    }

    #[test]
    fn a_file_without_required_columns_is_refused_whole() {
        let err = read_csv("r.csv", b"id,date\n1,2021-01-01\n").expect_err("refused");
        assert_eq!(err.code(), "bad-registry-file");
        assert!(
            err.to_string()
                .contains("missing columns event_id_cnty, event_date, latitude, longitude"),
            "{err}"
        );
    }
}
