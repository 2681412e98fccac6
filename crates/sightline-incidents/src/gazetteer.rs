//! Place names → coordinates and admin levels, in every spelling and script
//! we know, and finding them in captions.
//!
//! [`Gazetteer::builtin`] is a small hand-made table for the region the
//! fixtures cover (`data/gazetteer.tsv`): Afghanistan's provinces and their
//! capitals, Kabul's districts and the sites of the registered attacks, and
//! the places abroad the reports name. [`Gazetteer::import_geonames`] turns a
//! GeoNames dump (`AF.txt`, `allCountries.txt`) into the same table for real
//! use.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::error::IncidentError;
use crate::text::{PhraseIndex, fold};

/// The built-in table (tab-separated, header first).
const BUILTIN: &str = include_str!("../data/gazetteer.tsv");

/// How specific a place is; decides how much naming it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    Country,
    Admin1,
    Admin2,
    City,
    Neighbourhood,
    Site,
}

impl PlaceKind {
    fn parse(s: &str) -> Option<PlaceKind> {
        Some(match s {
            "country" => PlaceKind::Country,
            "admin1" => PlaceKind::Admin1,
            "admin2" => PlaceKind::Admin2,
            "city" => PlaceKind::City,
            "neighbourhood" => PlaceKind::Neighbourhood,
            "site" => PlaceKind::Site,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PlaceKind::Country => "country",
            PlaceKind::Admin1 => "admin1",
            PlaceKind::Admin2 => "admin2",
            PlaceKind::City => "city",
            PlaceKind::Neighbourhood => "neighbourhood",
            PlaceKind::Site => "site",
        }
    }
}

/// One place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Place {
    pub id: String,
    pub kind: PlaceKind,
    pub name: String,
    pub variants: Vec<String>,
    pub latitude: f64,
    pub longitude: f64,
    /// ISO 3166 alpha-2.
    pub country: String,
    pub admin1: String,
    pub admin2: String,
    /// Rough extent: how far from the point the place still is.
    pub radius_km: f64,
}

/// A place named in a text, with the words that named it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mention {
    /// Index into [`Gazetteer::places`].
    pub place: usize,
    /// The words as folded (for explanations).
    pub words: String,
}

/// Places and the index that finds them in text.
#[derive(Debug, Clone)]
pub struct Gazetteer {
    places: Vec<Place>,
    index: PhraseIndex,
    by_id: HashMap<String, usize>,
}

impl Gazetteer {
    /// The built-in table for the fixture region.
    pub fn builtin() -> Gazetteer {
        // The built-in table is tested; a broken row is a build defect.
        let (places, _) = parse_tsv(BUILTIN);
        Gazetteer::from_places(places)
    }

    pub fn from_places(places: Vec<Place>) -> Gazetteer {
        let mut g = Gazetteer {
            places: Vec::new(),
            index: PhraseIndex::new(),
            by_id: HashMap::new(),
        };
        g.extend(places);
        g
    }

    /// Add places; a place whose id is already known replaces it.
    pub fn extend(&mut self, places: Vec<Place>) {
        for p in places {
            match self.by_id.get(&p.id) {
                Some(&i) => self.places[i] = p,
                None => {
                    self.by_id.insert(p.id.clone(), self.places.len());
                    self.places.push(p);
                }
            }
        }
        let mut index = PhraseIndex::new();
        for (i, p) in self.places.iter().enumerate() {
            index.add(&p.name, i);
            for v in &p.variants {
                index.add(v, i);
            }
        }
        self.index = index;
    }

    /// Read a table in the built-in format (see `data/gazetteer.tsv`),
    /// returning the places and a message per bad row.
    pub fn read_tsv(text: &str) -> (Vec<Place>, Vec<String>) {
        parse_tsv(text)
    }

    pub fn places(&self) -> &[Place] {
        &self.places
    }

    pub fn place(&self, id: &str) -> Option<&Place> {
        self.by_id.get(id).map(|&i| &self.places[i])
    }

    /// The places named in already folded text.
    pub fn find_in(&self, tokens: &[String]) -> Vec<Mention> {
        self.index
            .find(tokens)
            .into_iter()
            .map(|f| Mention {
                place: f.entry,
                words: tokens[f.start..f.start + f.len].join(" "),
            })
            .collect()
    }

    /// The places named in `text`.
    pub fn find(&self, text: &str) -> Vec<Mention> {
        self.find_in(&fold(text))
    }

    /// Write places in the built-in format.
    pub fn to_tsv(places: &[Place]) -> String {
        let mut out = String::from(HEADER);
        out.push('\n');
        for p in places {
            let clean = |s: &str| s.replace(['\t', '\n', '\r', '|'], " ");
            let variants: Vec<String> = p.variants.iter().map(|v| clean(v)).collect();
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}\t{:.5}\t{:.5}\t{}\t{}\t{}\t{}",
                clean(&p.id),
                p.kind.as_str(),
                clean(&p.name),
                variants.join("|"),
                p.latitude,
                p.longitude,
                clean(&p.country),
                clean(&p.admin1),
                clean(&p.admin2),
                p.radius_km
            );
        }
        out
    }

    /// Places from a GeoNames dump (the tab-separated `geoname` table:
    /// `AF.txt`, `cities1000.txt`, `allCountries.txt`). Keeps countries,
    /// first- and second-level divisions, populated places of at least
    /// `min_population` (and capitals and neighbourhoods whatever their
    /// size) and named buildings; their alternate names become variants,
    /// in every script GeoNames has. Bad rows are counted, not fatal.
    pub fn import_geonames(
        text: &str,
        min_population: u64,
    ) -> Result<GeonamesImport, IncidentError> {
        let mut out = GeonamesImport::default();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() < 15 {
                out.bad_rows += 1;
                if out.first_problem.is_none() {
                    out.first_problem = Some(format!(
                        "line {}: {} columns where GeoNames has 19",
                        n + 1,
                        f.len()
                    ));
                }
                continue;
            }
            let (lat, lon) = match (f[4].parse::<f64>(), f[5].parse::<f64>()) {
                (Ok(a), Ok(b)) if (-90.0..=90.0).contains(&a) && (-180.0..=180.0).contains(&b) => {
                    (a, b)
                }
                _ => {
                    out.bad_rows += 1;
                    continue;
                }
            };
            let population: u64 = f[14].parse().unwrap_or(0);
            let (class, code) = (f[6], f[7]);
            let (kind, radius) = match (class, code) {
                ("A", c) if c.starts_with("PCL") => (PlaceKind::Country, 400.0),
                ("A", "ADM1") => (PlaceKind::Admin1, 80.0),
                ("A", "ADM2") => (PlaceKind::Admin2, 25.0),
                ("P", "PPLX") => (PlaceKind::Neighbourhood, 2.0),
                ("P", c)
                    if c == "PPLC" || c.starts_with("PPLA") || population >= min_population =>
                {
                    let r = match population {
                        p if p >= 1_000_000 => 15.0,
                        p if p >= 100_000 => 8.0,
                        p if p >= 10_000 => 4.0,
                        _ => 2.0,
                    };
                    (PlaceKind::City, r)
                }
                ("S", _) => (PlaceKind::Site, 0.5),
                _ => {
                    out.skipped += 1;
                    continue;
                }
            };
            let name = f[1].trim().to_string();
            if name.is_empty() {
                out.bad_rows += 1;
                continue;
            }
            let mut variants: Vec<String> = Vec::new();
            for v in std::iter::once(f[2]).chain(f[3].split(',')) {
                let v = v.trim();
                // Alternate names include codes and links; keep words.
                if v.is_empty()
                    || v == name
                    || v.starts_with("http")
                    || v.chars().count() < 3
                    || v.chars()
                        .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
                    || variants.iter().any(|x| x == v)
                {
                    continue;
                }
                variants.push(v.to_string());
            }
            out.places.push(Place {
                id: format!("geonames-{}", f[0].trim()),
                kind,
                name,
                variants,
                latitude: lat,
                longitude: lon,
                country: f[8].trim().to_string(),
                admin1: f[10].trim().to_string(),
                admin2: f[11].trim().to_string(),
                radius_km: radius,
            });
        }
        Ok(out)
    }
}

/// What reading a GeoNames dump gave.
#[derive(Debug, Default)]
pub struct GeonamesImport {
    pub places: Vec<Place>,
    /// Rows of feature kinds not kept (streams, mountains, small villages).
    pub skipped: usize,
    pub bad_rows: usize,
    pub first_problem: Option<String>,
}

const HEADER: &str =
    "id\tkind\tname\tvariants\tlatitude\tlongitude\tcountry\tadmin1\tadmin2\tradius_km";

fn parse_tsv(text: &str) -> (Vec<Place>, Vec<String>) {
    let mut places = Vec::new();
    let mut problems = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let row = n + 1;
        if row == 1 && line.starts_with("id\t") {
            continue;
        }
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 10 {
            problems.push(format!("row {row}: {} columns, expected 10", f.len()));
            continue;
        }
        let Some(kind) = PlaceKind::parse(f[1].trim()) else {
            problems.push(format!("row {row}: unknown kind {:?}", f[1]));
            continue;
        };
        let num = |s: &str| s.trim().parse::<f64>().ok().filter(|x| x.is_finite());
        let (Some(lat), Some(lon), Some(radius)) = (num(f[4]), num(f[5]), num(f[9])) else {
            problems.push(format!(
                "row {row}: latitude, longitude or radius_km is not a number"
            ));
            continue;
        };
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) || radius <= 0.0 {
            problems.push(format!(
                "row {row}: {lat}, {lon} r {radius} is not a place on earth"
            ));
            continue;
        }
        places.push(Place {
            id: f[0].trim().to_string(),
            kind,
            name: f[2].trim().to_string(),
            variants: f[3]
                .split('|')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(String::from)
                .collect(),
            latitude: lat,
            longitude: lon,
            country: f[6].trim().to_string(),
            admin1: f[7].trim().to_string(),
            admin2: f[8].trim().to_string(),
            radius_km: radius,
        });
    }
    (places, problems)
}

/// Great-circle distance in kilometres.
pub fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0088 * a.sqrt().clamp(0.0, 1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_table_is_sound_and_covers_every_province() {
        let (places, problems) = parse_tsv(BUILTIN);
        assert!(problems.is_empty(), "{problems:?}");
        let provinces = places
            .iter()
            .filter(|p| p.kind == PlaceKind::Admin1 && p.country == "AF")
            .count();
        assert_eq!(provinces, 34);
        let g = Gazetteer::from_places(places);
        // Every name and variant finds its own place.
        for (i, p) in g.places().iter().enumerate() {
            for name in std::iter::once(&p.name).chain(&p.variants) {
                if fold(name).concat().chars().count() < 3 {
                    continue;
                }
                let found = g.find(name);
                assert!(
                    found.iter().any(|m| m.place == i),
                    "{name:?} does not find {}",
                    p.id
                );
            }
        }
    }

    #[test]
    fn names_are_found_in_any_script_and_spelling() {
        let g = Gazetteer::builtin();
        let names = |text: &str| -> Vec<String> {
            g.find(text)
                .into_iter()
                .map(|m| g.places()[m.place].id.clone())
                .collect()
        };
        for (text, id) in [
            ("Blast in Qunduz city", "af-kunduz"),
            ("انفجار در شهر کندز", "af-kunduz"),
            ("Mazar-i-Sharif today", "af-mazar-i-sharif"),
            ("explosion in Dasht-i-Barchi", "af-kabul-dasht-e-barchi"),
            ("په ننګرهار کې", "af-nangarhar-prov"),
        ] {
            assert!(
                names(text).iter().any(|n| n == id),
                "{text}: {:?}",
                names(text)
            );
        }
    }

    #[test]
    fn geonames_rows_become_places() {
        let rows = "1\tAndkhoy\tAndkhoy\tAndkhui,اندخوی,http://x\t36.95\t65.12\tP\tPPLA2\tAF\t\t08\t2801\t\t\t71730\t\t318\tAsia/Kabul\t2023-01-01\n\
                    2\tSmall\tSmall\t\t36.9\t65.2\tP\tPPL\tAF\t\t08\t\t\t\t12\t\t0\tAsia/Kabul\t2023-01-01\n\
                    bad row\n";
        let got = Gazetteer::import_geonames(rows, 1000).expect("import");
        assert_eq!(got.places.len(), 1);
        assert_eq!(got.places[0].variants, vec!["Andkhui", "اندخوی"]);
        assert_eq!((got.skipped, got.bad_rows), (1, 1));
        let g = Gazetteer::from_places(got.places);
        assert_eq!(g.find("در اندخوی").len(), 1);
    }
}
