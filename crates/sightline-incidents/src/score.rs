//! Scoring an evidence item against every incident: four factors (time,
//! place, text, near-duplicates), each a log-likelihood ratio with one line
//! of explanation, turned into probabilities by a softmax that also holds
//! "none of these".
//!
//! The factors, in natural-log units (e^3 ≈ 20 times likelier):
//! - **time**: when the footage was first seen (the earliest post of the
//!   item or any near-duplicate) against the incident's local day, widened
//!   by its time precision. Footage seen before an event cannot show it
//!   (−8). A camera clock, when the file has one and no editor touched it,
//!   adds a weaker second opinion.
//! - **place**: GPS in the file, and places the caption names (found by
//!   the gazetteer in any script), against the incident's point, widened by
//!   its geo precision and the place's own extent. Naming a more specific
//!   place elsewhere (another neighbourhood, another site) counts against.
//! - **text**: event words (mosque, school, suicide, blast…) shared with
//!   the incident's own description; a different target counts against.
//! - **cluster**: analysts' decisions on near-duplicates lend their
//!   incident weight; the item's own decision settles it.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use serde::Serialize;
use sightline_core::{
    Assessment, AssessmentFlag, Band, Candidate, Incident, ReviewDecision, ReviewVerdict, Sha256,
};

use crate::dates::{PostTime, utc_offset_minutes};
use crate::gazetteer::{Gazetteer, Mention, PlaceKind, distance_km};
use crate::keywords::{Concepts, Kind, concepts_in};
use crate::text::fold;

/// The weight of "none of these incidents": an incident must beat it to
/// score above one half.
const NONE_LLR: f64 = 3.0;
/// Confirmed near-duplicates beyond this many add no more weight (and a
/// cluster's evidence need carry no more of them).
pub(crate) const NEAR_CONFIRMATIONS_COUNTED: usize = 5;
/// Footage first seen this long after a post claims it is recycled.
const RECYCLED_AFTER_DAYS: i64 = 7;
/// Candidates kept per item (decided ones are always kept).
const KEEP: usize = 5;
const HIGH: f64 = 0.75;
const MEDIUM: f64 = 0.40;

/// One post of an item or of a near-duplicate.
#[derive(Debug, Clone)]
pub struct Post {
    /// Who posted it where, for explanations: `telegram @kabul_news`.
    pub label: String,
    pub author: Option<String>,
    pub time: Option<PostTime>,
    pub collected_at: DateTime<Utc>,
    pub caption: String,
}

/// Everything the scorer knows about one evidence item.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub item: Sha256,
    pub posts: Vec<Post>,
    /// Posts of the item's near-duplicates (other items in its cluster).
    pub near: Vec<Post>,
    /// GPS from the file's own metadata.
    pub gps: Option<(f64, f64)>,
    /// The camera clock, from the file's own metadata.
    pub capture: Option<PostTime>,
    /// Analysts' latest decisions on this item.
    pub decisions: Vec<ReviewDecision>,
    /// Analysts' latest decisions on its near-duplicates.
    pub near_decisions: Vec<ReviewDecision>,
}

/// When footage was first seen, and by whom.
#[derive(Debug, Clone)]
struct FirstSeen {
    utc: DateTime<Utc>,
    slack: Duration,
    label: String,
    /// From a post time (else only from when it was collected: an upper
    /// bound, not a date).
    posted: bool,
    /// One of the item's own posts (else a near-duplicate's).
    own: bool,
}

/// What the scorer read from an item, beside the scores; used to propose
/// new incidents.
#[derive(Debug, Clone, Serialize)]
pub struct Features {
    pub first_seen: Option<DateTime<Utc>>,
    /// The most specific place named or located: id, name, kind, point.
    pub place: Option<PlaceRef>,
    pub violent: bool,
    pub concepts: Vec<&'static str>,
    pub authors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaceRef {
    pub id: String,
    pub name: String,
    pub kind: PlaceKind,
    pub latitude: f64,
    pub longitude: f64,
}

/// An incident, made ready for scoring.
#[derive(Debug, Clone)]
struct Prepared {
    incident: Incident,
    /// The incident's window in UTC: its local day, widened by precision.
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    concepts: Concepts,
    /// How far from its point the incident may be, by geo precision.
    scale_km: f64,
    location: Vec<String>,
}

/// Scores evidence against a registry. Build one per refresh: it holds the
/// incidents prepared and a gazetteer.
#[derive(Debug)]
pub struct Assessor<'g> {
    incidents: Vec<Prepared>,
    gazetteer: &'g Gazetteer,
}

/// One factor's contribution.
#[derive(Debug, Clone)]
struct Factor {
    llr: f64,
    why: String,
}

impl<'g> Assessor<'g> {
    pub fn new(incidents: &[Incident], gazetteer: &'g Gazetteer) -> Assessor<'g> {
        let incidents = incidents
            .iter()
            .map(|i| {
                let offset = Duration::minutes(utc_offset_minutes(&i.country, i.longitude).into());
                let midnight = Utc.from_utc_datetime(&i.event_date.and_time(NaiveTime::MIN));
                let day_start = midnight - offset;
                let widen = match i.time_precision {
                    1 => Duration::zero(),
                    2 => Duration::days(3),
                    _ => Duration::days(15),
                };
                let text = format!(
                    "{} {} {} {} {}",
                    i.event_type,
                    i.sub_event_type,
                    i.notes,
                    i.location,
                    i.tags.join(" ")
                );
                Prepared {
                    start: day_start - widen,
                    end: day_start + Duration::days(1) + widen,
                    concepts: concepts_in(&fold(&text)),
                    scale_km: match i.geo_precision {
                        1 => 1.0,
                        2 => 5.0,
                        _ => 40.0,
                    },
                    location: fold(&i.location),
                    incident: i.clone(),
                }
            })
            .collect();
        Assessor {
            incidents,
            gazetteer,
        }
    }

    /// Score `e` against every incident.
    pub fn assess(&self, e: &Evidence, now: DateTime<Utc>) -> (Assessment, Features) {
        let captions: Vec<&str> = {
            let mut c: Vec<&str> = e.posts.iter().map(|p| p.caption.as_str()).collect();
            c.sort();
            c.dedup();
            c
        };
        let tokens = fold(&captions.join(" \n "));
        let mentions = self.gazetteer.find_in(&tokens);
        let concepts = concepts_in(&tokens);
        // What the same picture's other posts say of where it is: used only
        // when the item's own posts name no place.
        let near_mentions = if mentions.is_empty() && e.gps.is_none() {
            let mut c: Vec<&str> = e.near.iter().map(|p| p.caption.as_str()).collect();
            c.sort();
            c.dedup();
            self.gazetteer.find_in(&fold(&c.join(" \n ")))
        } else {
            Vec::new()
        };
        let first = first_seen(e);
        let claim = claimed_time(e);
        // The latest post: a re-post of old footage is the one to flag.
        let latest = latest_post(e);

        let mut scored: Vec<(usize, f64, Vec<String>)> = Vec::new();
        for (n, inc) in self.incidents.iter().enumerate() {
            let mut factors = Vec::new();
            if let Some(f) = &first {
                factors.push(time_factor(inc, f));
            } else {
                factors.push(Factor {
                    llr: 0.0,
                    why: "time: nothing dates this item".into(),
                });
            }
            if let Some(c) = &e.capture {
                factors.push(capture_factor(inc, c));
            }
            let mut place = self.place_factor(inc, e.gps, &mentions, &tokens);
            if !near_mentions.is_empty()
                && let Some(near) = self.near_place(inc, &near_mentions)
            {
                place = near;
            }
            factors.push(place);
            factors.push(text_factor(inc, &concepts));
            if let Some(f) = cluster_factor(inc, e) {
                factors.push(f);
            }
            let llr: f64 = factors.iter().map(|f| f.llr).sum();
            scored.push((n, llr, factors.into_iter().map(|f| f.why).collect()));
        }

        let candidates = rank(&self.incidents, scored, e);
        let mut flags = Vec::new();
        if let (Some(f), Some((c, caption))) = (&first, &latest)
            && c.utc - f.utc > Duration::days(RECYCLED_AFTER_DAYS)
        {
            let days = (c.utc - f.utc).num_days();
            let mut msg = format!(
                "recycled footage: first seen {} ({}), {days} days before the post of {} ({})",
                f.utc.format("%Y-%m-%d"),
                f.label,
                c.utc.format("%Y-%m-%d"),
                c.label
            );
            // What the post would be taken for on its own date.
            if let Some(claimed) = self.claimed_incident(c, e.gps, caption)
                && candidates.first().map(|c| &c.incident) != Some(&claimed)
            {
                msg.push_str(&format!(
                    "; the post's own date points to {claimed}, which the footage predates"
                ));
            }
            flags.push(flag("recycled-footage", msg));
        }
        match &claim {
            None => flags.push(flag(
                "no-post-time",
                "no post gives a time: dated only by when it was collected".into(),
            )),
            Some(c) if !c.slack.is_zero() => flags.push(flag(
                "ambiguous-time-zone",
                format!(
                    "the post time has no time zone: read as UTC ± {} h",
                    c.slack.num_hours()
                ),
            )),
            _ => {}
        }
        if let (Some(cap), Some(c)) = (&e.capture, &claim)
            && c.utc - cap.utc > Duration::days(30)
        {
            flags.push(flag(
                "capture-predates-post",
                format!(
                    "the camera clock says {}, {} days before the post",
                    cap.utc.format("%Y-%m-%d"),
                    (c.utc - cap.utc).num_days()
                ),
            ));
        }
        for d in &e.decisions {
            flags.push(flag(
                "decided",
                format!("{} {} by {}", d.verdict.as_str(), d.incident, d.analyst),
            ));
        }

        let features = Features {
            first_seen: first.as_ref().filter(|f| f.posted).map(|f| f.utc),
            place: self.most_specific(e.gps, &mentions),
            violent: concepts.has(Kind::Violence) || concepts.has(Kind::Method),
            concepts: concepts.found.iter().map(|(_, n)| *n).collect(),
            authors: {
                let mut a: Vec<String> = e.posts.iter().filter_map(|p| p.author.clone()).collect();
                a.sort();
                a.dedup();
                a
            },
        };
        (
            Assessment {
                item: e.item,
                candidates,
                flags,
                computed_at: now,
            },
            features,
        )
    }

    /// The incident a post would be taken for if its own date were true and
    /// no near-duplicate were known.
    fn claimed_incident(
        &self,
        claim: &FirstSeen,
        gps: Option<(f64, f64)>,
        caption: &str,
    ) -> Option<String> {
        let tokens = fold(caption);
        let mentions = self.gazetteer.find_in(&tokens);
        let concepts = concepts_in(&tokens);
        self.incidents
            .iter()
            .map(|inc| {
                let llr = time_factor(inc, claim).llr
                    + self.place_factor(inc, gps, &mentions, &tokens).llr
                    + text_factor(inc, &concepts).llr;
                (llr, inc)
            })
            .filter(|(llr, _)| *llr > NONE_LLR)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, inc)| inc.incident.id.clone())
    }

    fn place_factor(
        &self,
        inc: &Prepared,
        gps: Option<(f64, f64)>,
        mentions: &[Mention],
        tokens: &[String],
    ) -> Factor {
        let i = &inc.incident;
        let mut llr = 0.0;
        let mut why = Vec::new();
        if let Some((lat, lon)) = gps {
            let d = distance_km(lat, lon, i.latitude, i.longitude);
            let s = inc.scale_km;
            let (v, what) = if d <= s + 0.5 {
                (3.0, "at the event")
            } else if d <= 3.0 * s + 2.0 {
                (1.8, "near the event")
            } else if d <= 30.0 {
                (0.5, "in the area")
            } else if d <= 60.0 {
                (-3.0, "away from the event")
            } else {
                (-5.0, "far from the event")
            };
            llr += v;
            why.push(format!("file GPS {} from the event ({what})", km(d)));
        }
        // Caption places: the most specific consistent one counts; a more
        // specific place elsewhere counts against.
        let mut best: Option<(PlaceKind, f64, &Mention, f64)> = None;
        let mut worst: Option<(PlaceKind, &Mention, f64)> = None;
        for m in mentions {
            let p = &self.gazetteer.places()[m.place];
            let d = distance_km(p.latitude, p.longitude, i.latitude, i.longitude);
            // A named site is a point: another site a few hundred metres
            // from the event is another place.
            let slack = if p.kind == PlaceKind::Site {
                inc.scale_km.min(0.25)
            } else {
                inc.scale_km
            };
            if d - p.radius_km - slack <= 0.0 {
                if best.is_none_or(|(k, ..)| p.kind > k) {
                    best = Some((p.kind, kind_weight(p.kind), m, d));
                }
            } else if worst.is_none_or(|(k, ..)| p.kind > k) {
                worst = Some((p.kind, m, d));
            }
        }
        // The incident's own location written out, if the gazetteer does
        // not know it.
        if best.is_none()
            && !inc.location.is_empty()
            && tokens
                .windows(inc.location.len())
                .any(|w| w == inc.location.as_slice())
        {
            llr += kind_weight(PlaceKind::City);
            why.push(format!(
                "caption names {}, the event's location",
                i.location
            ));
        }
        match (best, worst) {
            (Some((kind, w, m, d)), worse) => {
                llr += w;
                let name = &self.gazetteer.places()[m.place].name;
                why.push(format!(
                    "caption names {name} ({}), {} from the event",
                    m.words,
                    km(d)
                ));
                if let Some((wk, wm, wd)) = worse
                    && wk > kind
                {
                    llr -= 1.5;
                    why.push(format!(
                        "but also {} , {} away",
                        self.gazetteer.places()[wm.place].name,
                        km(wd)
                    ));
                }
            }
            (None, Some((kind, m, d))) => {
                llr -= match kind {
                    PlaceKind::Country => 1.0,
                    PlaceKind::Admin1 | PlaceKind::Admin2 => 1.5,
                    _ => 2.0,
                };
                why.push(format!(
                    "caption names {}, {} from the event",
                    self.gazetteer.places()[m.place].name,
                    km(d)
                ));
            }
            (None, None) if why.is_empty() => why.push("no place in caption or file".into()),
            (None, None) => {}
        }
        Factor {
            llr: llr.clamp(-5.0, 6.0),
            why: format!("place: {}", why.join("; ")),
        }
    }

    /// Half the weight of the most specific fitting place a near-duplicate's
    /// caption names; nothing against (re-posts claim other places).
    fn near_place(&self, inc: &Prepared, mentions: &[Mention]) -> Option<Factor> {
        let i = &inc.incident;
        mentions
            .iter()
            .filter_map(|m| {
                let p = &self.gazetteer.places()[m.place];
                let d = distance_km(p.latitude, p.longitude, i.latitude, i.longitude);
                (d - p.radius_km - inc.scale_km <= 0.0).then_some((p, m, d))
            })
            .max_by_key(|(p, ..)| p.kind)
            .map(|(p, m, d)| Factor {
                llr: 0.5 * kind_weight(p.kind),
                why: format!(
                    "place: none in this post; a near-duplicate's caption names {} ({}), {} from the event",
                    p.name,
                    m.words,
                    km(d)
                ),
            })
    }

    /// The most specific place the item is at or names.
    fn most_specific(&self, gps: Option<(f64, f64)>, mentions: &[Mention]) -> Option<PlaceRef> {
        let named = mentions
            .iter()
            .map(|m| &self.gazetteer.places()[m.place])
            .max_by_key(|p| p.kind)
            .map(|p| PlaceRef {
                id: p.id.clone(),
                name: p.name.clone(),
                kind: p.kind,
                latitude: p.latitude,
                longitude: p.longitude,
            });
        match (gps, named) {
            (Some((lat, lon)), named) => Some(PlaceRef {
                id: format!("gps:{lat:.2},{lon:.2}"),
                name: named.map_or_else(|| format!("{lat:.4}, {lon:.4}"), |n| n.name),
                kind: PlaceKind::Site,
                latitude: lat,
                longitude: lon,
            }),
            (None, named) => named,
        }
    }
}

fn flag(code: &str, message: String) -> AssessmentFlag {
    AssessmentFlag {
        code: code.into(),
        message,
    }
}

fn kind_weight(kind: PlaceKind) -> f64 {
    match kind {
        PlaceKind::Site => 3.5,
        PlaceKind::Neighbourhood => 2.5,
        PlaceKind::City => 2.0,
        PlaceKind::Admin2 => 1.5,
        PlaceKind::Admin1 => 1.2,
        PlaceKind::Country => 0.4,
    }
}

fn km(d: f64) -> String {
    if d < 10.0 {
        format!("{d:.1} km")
    } else {
        format!("{d:.0} km")
    }
}

fn post_label(p: &Post, own: bool) -> String {
    if own {
        p.label.clone()
    } else {
        format!("a near-duplicate, {}", p.label)
    }
}

/// When the footage was first seen: the earliest post time of the item or
/// any near-duplicate; failing any post time, the earliest collection.
fn first_seen(e: &Evidence) -> Option<FirstSeen> {
    let posts = e
        .posts
        .iter()
        .map(|p| (p, true))
        .chain(e.near.iter().map(|p| (p, false)));
    let mut best: Option<FirstSeen> = None;
    for (p, own) in posts.clone() {
        if let Some(t) = p.time
            && best.as_ref().is_none_or(|b| t.utc < b.utc)
        {
            best = Some(FirstSeen {
                utc: t.utc,
                slack: t.slack,
                label: post_label(p, own),
                posted: true,
                own,
            });
        }
    }
    // A collection earlier than every post time bounds it too.
    for (p, own) in posts {
        if best
            .as_ref()
            .is_none_or(|b| p.collected_at < b.utc - b.slack)
        {
            best = Some(FirstSeen {
                utc: p.collected_at,
                slack: Duration::zero(),
                label: format!("collected from {}", post_label(p, own)),
                posted: false,
                own,
            });
        }
    }
    best
}

/// The item's latest dated post, and its caption.
fn latest_post(e: &Evidence) -> Option<(FirstSeen, &str)> {
    e.posts
        .iter()
        .filter_map(|p| p.time.map(|t| (t, p)))
        .max_by_key(|(t, _)| t.utc)
        .map(|(t, p)| {
            let seen = FirstSeen {
                utc: t.utc,
                slack: t.slack,
                label: p.label.clone(),
                posted: true,
                own: true,
            };
            (seen, p.caption.as_str())
        })
}

/// The time the item's own posts claim: the earliest of them.
fn claimed_time(e: &Evidence) -> Option<FirstSeen> {
    e.posts
        .iter()
        .filter_map(|p| p.time.map(|t| (t, p)))
        .min_by_key(|(t, _)| t.utc)
        .map(|(t, p)| FirstSeen {
            utc: t.utc,
            slack: t.slack,
            label: p.label.clone(),
            posted: true,
            own: true,
        })
}

fn days(d: Duration) -> String {
    let h = d.num_hours();
    if h < 48 {
        format!("{h} h")
    } else {
        format!("{} days", d.num_days())
    }
}

fn time_factor(inc: &Prepared, f: &FirstSeen) -> Factor {
    let what = if f.posted {
        if f.own { "posted" } else { "first seen" }
    } else {
        "collected"
    };
    let by = if f.own && f.posted {
        String::new()
    } else {
        format!(" ({})", f.label)
    };
    let date = inc.incident.event_date;
    if f.utc + f.slack < inc.start {
        return Factor {
            llr: -8.0,
            why: format!(
                "time: {what} {} before the event{by}: cannot show it",
                days(inc.start - f.utc)
            ),
        };
    }
    if f.utc - f.slack < inc.end {
        let llr = if !f.posted {
            1.0
        } else {
            match inc.incident.time_precision {
                1 => 3.0,
                2 => 2.2,
                _ => 1.5,
            }
        };
        let span = match inc.incident.time_precision {
            1 => format!("on the event's day ({date}, local)"),
            2 => format!("in the event's week (around {date})"),
            _ => format!("in the event's month (around {date})"),
        };
        return Factor {
            llr,
            why: format!("time: {what} {span}{by}"),
        };
    }
    let after = f.utc - f.slack - inc.end;
    let h = after.num_hours();
    let llr = if !f.posted {
        if h <= 72 { 0.8 } else { 0.0 }
    } else if h <= 24 {
        2.2
    } else if h <= 72 {
        1.2
    } else if h <= 168 {
        0.3
    } else if h <= 720 {
        -0.8
    } else {
        -2.0
    };
    let tail = if f.posted { "" } else { "; no post time" };
    Factor {
        llr,
        why: format!(
            "time: {what} {} after the event's day{by}{tail}",
            days(after + Duration::hours(1))
        ),
    }
}

fn capture_factor(inc: &Prepared, c: &PostTime) -> Factor {
    if c.utc + c.slack + Duration::days(1) < inc.start {
        return Factor {
            llr: -2.5,
            why: format!(
                "camera clock: {}, {} before the event",
                c.utc.format("%Y-%m-%d"),
                days(inc.start - c.utc)
            ),
        };
    }
    if c.utc - c.slack <= inc.end {
        return Factor {
            llr: 1.2,
            why: format!(
                "camera clock: {}, the event's day",
                c.utc.format("%Y-%m-%d")
            ),
        };
    }
    Factor {
        llr: 0.0,
        why: format!(
            "camera clock: {}, after the event",
            c.utc.format("%Y-%m-%d")
        ),
    }
}

fn text_factor(inc: &Prepared, c: &Concepts) -> Factor {
    let mut llr = 0.0;
    let mut why = Vec::new();
    let methods = c.names(Kind::Method);
    // A place or a building named is not yet an attack: words of violence
    // (or how it was done) are what make a post about one.
    let violent = c.has(Kind::Violence) || !methods.is_empty();
    let ours = c.names(Kind::Target);
    let theirs = inc.concepts.names(Kind::Target);
    let shared: Vec<&str> = ours
        .iter()
        .filter(|t| theirs.contains(t))
        .copied()
        .collect();
    if !shared.is_empty() && violent {
        llr += 2.0 + 0.4 * (shared.len() - 1) as f64;
        why.push(format!(
            "caption says {}, as the incident does",
            shared.join(", ")
        ));
    } else if !shared.is_empty() {
        why.push(format!(
            "caption names a {} but speaks of no violence",
            shared.join(", ")
        ));
    } else if !ours.is_empty() && !theirs.is_empty() {
        llr -= 1.2;
        why.push(format!(
            "caption says {}; the incident is about {}",
            ours.join(", "),
            theirs.join(", ")
        ));
    } else if !ours.is_empty() {
        why.push(format!("caption says {}", ours.join(", ")));
    }
    let their_methods = inc.concepts.names(Kind::Method);
    let shared_m: Vec<&str> = methods
        .iter()
        .filter(|t| their_methods.contains(t))
        .copied()
        .collect();
    if !shared_m.is_empty() {
        llr += 0.7 + 0.3 * (shared_m.len() - 1) as f64;
        why.push(format!("{} as reported", shared_m.join(", ")));
    } else if !methods.is_empty() {
        why.push(format!(
            "{} (not in the incident's description)",
            methods.join(", ")
        ));
    }
    let benign = c.names(Kind::Benign);
    if !benign.is_empty() && !violent {
        llr -= 5.0;
        why.push(format!(
            "caption speaks of ordinary life ({}), not of violence",
            benign.join(", ")
        ));
    } else if !benign.is_empty() {
        // "Exploded with joy at the wedding", or an attack on a wedding.
        llr -= 2.5;
        why.push(format!(
            "but also of ordinary life ({}): an attack on it, or a figure of speech?",
            benign.join(", ")
        ));
    } else if !violent {
        llr -= 1.5;
        why.push("no words of violence in the caption".into());
    } else if shared.is_empty() && shared_m.is_empty() {
        llr += 0.3;
        if why.is_empty() {
            why.push("caption speaks of an attack, nothing more specific".into());
        }
    }
    Factor {
        llr,
        why: format!("text: {}", why.join("; ")),
    }
}

fn cluster_factor(inc: &Prepared, e: &Evidence) -> Option<Factor> {
    let id = &inc.incident.id;
    if let Some(d) = e.decisions.iter().find(|d| &d.incident == id) {
        return match d.verdict {
            ReviewVerdict::Confirm => Some(Factor {
                llr: 10.0,
                why: format!("decision: confirmed by {}", d.analyst),
            }),
            ReviewVerdict::Reject => Some(Factor {
                llr: -12.0,
                why: format!("decision: rejected by {}", d.analyst),
            }),
            ReviewVerdict::NeedsMoreInfo => Some(Factor {
                llr: 0.0,
                why: format!("decision: {} asked for more information", d.analyst),
            }),
        };
    }
    let confirmed: Vec<&ReviewDecision> = e
        .near_decisions
        .iter()
        .filter(|d| d.verdict == ReviewVerdict::Confirm)
        .collect();
    let here = confirmed.iter().filter(|d| &d.incident == id).count();
    let rejected = e
        .near_decisions
        .iter()
        .filter(|d| d.verdict == ReviewVerdict::Reject && &d.incident == id)
        .count();
    if here > 0 {
        let counted = here.min(NEAR_CONFIRMATIONS_COUNTED);
        let how_many = match here {
            1 => "1 near-duplicate".to_string(),
            n if n >= NEAR_CONFIRMATIONS_COUNTED => format!("{counted} or more near-duplicates"),
            n => format!("{n} near-duplicates"),
        };
        return Some(Factor {
            llr: 3.0 + 0.5 * (counted - 1) as f64,
            why: format!("near-duplicates: {how_many} confirmed for this incident"),
        });
    }
    if let Some(other) = confirmed.first() {
        return Some(Factor {
            llr: -1.5,
            why: format!(
                "near-duplicates: a near-duplicate was confirmed for {}",
                other.incident
            ),
        });
    }
    if rejected > 0 {
        return Some(Factor {
            llr: -(rejected.min(2) as f64),
            why: format!("near-duplicates: {rejected} rejected for this incident"),
        });
    }
    None
}

/// Turn factor sums into probabilities against each other and "none",
/// keep the best few (and every decided one).
fn rank(
    incidents: &[Prepared],
    scored: Vec<(usize, f64, Vec<String>)>,
    e: &Evidence,
) -> Vec<Candidate> {
    let max = scored.iter().map(|s| s.1).fold(NONE_LLR, f64::max);
    let z: f64 = (NONE_LLR - max).exp() + scored.iter().map(|s| (s.1 - max).exp()).sum::<f64>();
    let decided: BTreeMap<&str, ReviewVerdict> = e
        .decisions
        .iter()
        .map(|d| (d.incident.as_str(), d.verdict))
        .collect();
    let mut all: Vec<Candidate> = scored
        .into_iter()
        .map(|(n, llr, why)| {
            let score = (llr - max).exp() / z;
            let id = &incidents[n].incident.id;
            Candidate {
                incident: id.clone(),
                score: (score * 1000.0).round() / 1000.0,
                band: band(score),
                why,
                decided: decided.get(id.as_str()).copied(),
            }
        })
        .collect();
    // Rejected pairings last, whatever their score; then best first.
    let rejected = |c: &Candidate| c.decided == Some(ReviewVerdict::Reject);
    all.sort_by(|a, b| {
        rejected(a)
            .cmp(&rejected(b))
            .then_with(|| b.score.total_cmp(&a.score))
            .then_with(|| a.incident.cmp(&b.incident))
    });
    let mut out = Vec::new();
    for (i, c) in all.into_iter().enumerate() {
        if (i < KEEP && c.score >= 0.01) || c.decided.is_some() {
            out.push(c);
        }
    }
    out
}

fn band(score: f64) -> Band {
    if score >= HIGH {
        Band::High
    } else if score >= MEDIUM {
        Band::Medium
    } else {
        Band::Low
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::parse_post_time;

    fn incident(id: &str, date: &str, location: &str, lat: f64, lon: f64, notes: &str) -> Incident {
        Incident {
            event_type: "Explosions/Remote violence".into(),
            sub_event_type: "Suicide bomb".into(),
            country: "Afghanistan".into(),
            notes: notes.into(),
            ..Incident::new(id, date.parse().expect("date"), location, lat, lon)
        }
    }

    fn registry() -> Vec<Incident> {
        vec![
            incident(
                "school-2021",
                "2021-05-08",
                "Dasht-e-Barchi",
                34.487,
                69.083,
                "Bombs outside a girls' school",
            ),
            incident(
                "kaaj-2022",
                "2022-09-30",
                "Dasht-e-Barchi",
                34.4999,
                69.092,
                "Suicide bomber at an educational center during an exam",
            ),
            incident(
                "kunduz-2021",
                "2021-10-08",
                "Kunduz",
                36.728,
                68.857,
                "Suicide bomber in a Shia mosque during Friday prayers",
            ),
        ]
    }

    fn post(caption: &str, time: &str) -> Post {
        Post {
            label: "x @someone".into(),
            author: Some("@someone".into()),
            time: parse_post_time(time),
            collected_at: "2024-01-01T00:00:00Z".parse().expect("time"),
            caption: caption.into(),
        }
    }

    fn evidence(posts: Vec<Post>, near: Vec<Post>) -> Evidence {
        Evidence {
            item: Sha256::of(b"x"),
            posts,
            near,
            gps: None,
            capture: None,
            decisions: Vec::new(),
            near_decisions: Vec::new(),
        }
    }

    fn assess(e: &Evidence) -> Assessment {
        let g = Gazetteer::builtin();
        let incidents = registry();
        let a = Assessor::new(&incidents, &g);
        a.assess(e, Utc::now()).0
    }

    #[test]
    fn recycled_footage_ranks_the_earlier_incident_and_says_what_was_claimed() {
        let e = evidence(
            vec![post(
                "Blast at an education centre in Dasht-e-Barchi right now, students killed",
                "2022-09-30T03:30:00Z",
            )],
            vec![post(
                "Explosions outside a girls' school in Dasht-e-Barchi",
                "2021-05-08T12:40:00Z",
            )],
        );
        let a = assess(&e);
        assert_eq!(a.candidates[0].incident, "school-2021", "{a:#?}");
        let kaaj = a.candidates.iter().find(|c| c.incident == "kaaj-2022");
        assert!(kaaj.is_none_or(|c| c.band == Band::Low));
        let flag = a
            .flags
            .iter()
            .find(|f| f.code == "recycled-footage")
            .expect("flagged");
        assert!(flag.message.contains("first seen 2021-05-08"), "{flag:?}");
        assert!(flag.message.contains("points to kaaj-2022"), "{flag:?}");
        // Without the near-duplicate the same post is the Kaaj attack.
        let alone = assess(&evidence(e.posts.clone(), Vec::new()));
        assert_eq!(alone.candidates[0].incident, "kaaj-2022");
        assert_eq!(alone.candidates[0].band, Band::High);
        assert!(alone.flags.is_empty(), "{:?}", alone.flags);
    }

    #[test]
    fn a_post_just_after_local_midnight_written_in_utc_is_on_the_local_day() {
        // 20:30 UTC on the 7th is 01:00 on the 8th in Kunduz.
        let a = assess(&evidence(
            vec![post("انفجار در مسجد شیعیان قندوز", "2021-10-07T20:30:00Z")],
            Vec::new(),
        ));
        let top = &a.candidates[0];
        assert_eq!(top.incident, "kunduz-2021");
        assert!(top.why[0].contains("on the event's day"), "{:?}", top.why);
        assert!(top.why[1].contains("قندوز"), "{:?}", top.why);
        // The same wall-clock time without a zone is kept, with a flag.
        let a = assess(&evidence(
            vec![post("انفجار در مسجد شیعیان قندوز", "2021-10-07 20:30")],
            Vec::new(),
        ));
        assert_eq!(a.candidates[0].incident, "kunduz-2021");
        assert!(a.flags.iter().any(|f| f.code == "ambiguous-time-zone"));
    }

    #[test]
    fn gps_far_from_an_event_counts_against_it() {
        let mut e = evidence(
            vec![post("Suicide attack on a mosque", "2021-10-08T10:00:00Z")],
            Vec::new(),
        );
        e.gps = Some((36.7286, 68.8571));
        let near = assess(&e);
        assert_eq!(near.candidates[0].incident, "kunduz-2021");
        assert_eq!(near.candidates[0].band, Band::High);
        e.gps = Some((31.61, 65.71)); // Kandahar
        let far = assess(&e);
        assert!(
            far.candidates.first().is_none_or(|c| c.band == Band::Low),
            "{far:#?}"
        );
    }

    #[test]
    fn everyday_pictures_fit_no_incident_and_unplaced_posts_stay_low() {
        let a = assess(&evidence(
            vec![post(
                "Kunduz youth league final at the stadium",
                "2021-10-08T12:00:00Z",
            )],
            Vec::new(),
        ));
        assert!(
            a.candidates.first().is_none_or(|c| c.band == Band::Low),
            "{a:#?}"
        );
        let a = assess(&evidence(vec![post("", "")], Vec::new()));
        assert!(a.flags.iter().any(|f| f.code == "no-post-time"));
        assert!(a.candidates.iter().all(|c| c.band == Band::Low), "{a:#?}");
    }

    #[test]
    fn an_analysts_confirmation_of_a_near_duplicate_lends_its_incident_weight() {
        let mut e = evidence(
            vec![post("this video again", "2021-10-09T10:00:00Z")],
            vec![post("", "2021-10-08T09:00:00Z")],
        );
        let before = assess(&e);
        e.near_decisions = vec![ReviewDecision {
            evidence: Sha256::of(b"near"),
            incident: "kunduz-2021".into(),
            verdict: ReviewVerdict::Confirm,
            analyst: "ana".into(),
            note: String::new(),
            at: Utc::now(),
        }];
        let after = assess(&e);
        let score = |a: &Assessment| {
            a.candidates
                .iter()
                .find(|c| c.incident == "kunduz-2021")
                .map_or(0.0, |c| c.score)
        };
        assert!(
            score(&after) > score(&before) + 0.3,
            "{before:#?} {after:#?}"
        );
        assert!(
            after.candidates[0]
                .why
                .iter()
                .any(|w| w.contains("1 near-duplicate confirmed")),
            "{after:#?}"
        );
    }
}
