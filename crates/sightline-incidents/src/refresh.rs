//! Gathering what the catalog knows about items into [`Evidence`], scoring
//! it, and storing the assessments; and proposing new incidents from what
//! fits none.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use chrono::{DateTime, Datelike, Duration, Utc};
use serde::Serialize;
use sightline_core::{
    Assessment, Incident, Metadata, ReviewDecision, ReviewVerdict, Sha256, Sighting,
};
use sightline_store::Catalog;

use crate::IncidentError;
use crate::dates::{PostTime, parse_post_time};
use crate::gazetteer::{Gazetteer, PlaceKind};
use crate::score::{Assessor, Evidence, Features, PlaceRef, Post};

/// Near-duplicate posts an item's evidence carries (the earliest).
const NEAR_POSTS: usize = 64;
/// Decisions a cluster keeps per (incident, verdict) for its members'
/// evidence: one more than the scorer counts
/// ([`crate::score::NEAR_CONFIRMATIONS_COUNTED`]), since a member's own
/// decision is left out of its own evidence.
const NEAR_DECISIONS_KEPT: usize = crate::score::NEAR_CONFIRMATIONS_COUNTED + 1;

/// What a refresh did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Refreshed {
    pub items: usize,
    /// Items whose best candidate is in the high band.
    pub high: usize,
    pub medium: usize,
    pub flagged_recycled: usize,
    /// New-incident proposals from items that fit no incident.
    pub proposals: Vec<Proposal>,
}

/// A cluster of evidence that fits no registered incident but is dense in
/// time and place: a candidate incident for an analyst to accept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    /// Stable for the same evidence: `proposal-<date>-<place id>`.
    pub id: String,
    pub date: chrono::NaiveDate,
    pub place: PlaceRef,
    pub items: Vec<Sha256>,
    pub authors: Vec<String>,
    pub concepts: Vec<&'static str>,
    pub why: String,
}

impl Proposal {
    /// The incident accepting this proposal creates.
    pub fn to_incident(&self, id: &str) -> Incident {
        let (event_type, sub_event_type) = if self.concepts.contains(&"suicide") {
            ("Explosions/Remote violence", "Suicide bomb")
        } else if self.concepts.contains(&"explosion") {
            (
                "Explosions/Remote violence",
                "Remote explosive/landmine/IED",
            )
        } else {
            // Gunmen, or nothing more specific than an attack.
            ("Violence against civilians", "Attack")
        };
        Incident {
            event_type: event_type.into(),
            sub_event_type: sub_event_type.into(),
            geo_precision: match self.place.kind {
                PlaceKind::Site => 1,
                PlaceKind::Neighbourhood | PlaceKind::City => 2,
                _ => 3,
            },
            source: "Sightline proposal".into(),
            notes: format!("Accepted from {}: {}", self.id, self.why),
            tags: vec!["proposed".into()],
            ..Incident::new(
                id,
                self.date,
                self.place.name.clone(),
                self.place.latitude,
                self.place.longitude,
            )
        }
    }
}

/// Everything needed to build evidence for many items at once.
struct Snapshot {
    sightings: HashMap<Sha256, Vec<Sighting>>,
    /// Each clustered item → its cluster's members (shared, not copied:
    /// a picture re-posted ten thousand times is one list).
    members: HashMap<Sha256, Rc<[Sha256]>>,
    decisions: HashMap<Sha256, Vec<ReviewDecision>>,
    /// What each cluster lends its members, by the address of its member
    /// list; computed once per cluster so that a cluster of `k` costs
    /// `O(k)`, not `O(k²)`.
    lent: HashMap<usize, Rc<Lent>>,
}

/// What a cluster's members lend each other.
#[derive(Debug, Default)]
struct Lent {
    /// Every member's sightings, earliest seen first: (seen, member, index
    /// in the member's sightings).
    posts: Vec<(DateTime<Utc>, Sha256, usize)>,
    /// The members' latest decisions, at most [`NEAR_DECISIONS_KEPT`] per
    /// (incident, verdict), earliest first.
    decisions: Vec<ReviewDecision>,
}

fn cluster_key(members: &Rc<[Sha256]>) -> usize {
    Rc::as_ptr(members).cast::<Sha256>() as usize
}

impl Snapshot {
    /// Only what scoring `items` needs: their clusters' members, and those
    /// items' sightings and decisions (a job's new items in a large store).
    fn load_for(catalog: &dyn Catalog, items: &[Sha256]) -> Result<Snapshot, IncidentError> {
        let mut snap = Snapshot {
            sightings: HashMap::new(),
            members: HashMap::new(),
            decisions: HashMap::new(),
            lent: HashMap::new(),
        };
        let mut needed: HashSet<Sha256> = HashSet::new();
        for item in items {
            if snap.members.contains_key(item) || needed.contains(item) {
                continue;
            }
            match catalog.cluster_of(item)? {
                Some(id) => {
                    let members: Rc<[Sha256]> = catalog.cluster_members(id)?.into();
                    for m in members.iter() {
                        snap.members.insert(*m, Rc::clone(&members));
                    }
                    needed.extend(members.iter().copied());
                }
                None => {
                    needed.insert(*item);
                }
            }
        }
        for item in needed {
            snap.sightings.insert(item, catalog.sightings_of(&item)?);
            snap.decisions.insert(item, catalog.decisions_of(&item)?);
        }
        snap.lend();
        Ok(snap)
    }

    fn load(catalog: &dyn Catalog) -> Result<Snapshot, IncidentError> {
        let mut sightings: HashMap<Sha256, Vec<Sighting>> = HashMap::new();
        for s in catalog.sightings()? {
            let s = s?;
            sightings.entry(s.item).or_default().push(s);
        }
        let mut members = HashMap::new();
        for c in catalog.clusters()? {
            let shared: Rc<[Sha256]> = c.members.into();
            for m in shared.iter() {
                members.insert(*m, Rc::clone(&shared));
            }
        }
        let mut decisions: HashMap<Sha256, Vec<ReviewDecision>> = HashMap::new();
        for d in catalog.decisions()? {
            decisions.entry(d.evidence).or_default().push(d);
        }
        let mut snap = Snapshot {
            sightings,
            members,
            decisions,
            lent: HashMap::new(),
        };
        snap.lend();
        Ok(snap)
    }

    /// Computes what each cluster lends its members.
    fn lend(&mut self) {
        let mut lent = HashMap::new();
        for members in self.members.values() {
            let key = cluster_key(members);
            if lent.contains_key(&key) {
                continue;
            }
            let mut posts = Vec::new();
            let mut decisions: Vec<&ReviewDecision> = Vec::new();
            for m in members.iter() {
                for (i, s) in self.sightings.get(m).into_iter().flatten().enumerate() {
                    posts.push((s.seen_at(), *m, i));
                }
                decisions.extend(self.decisions.get(m).into_iter().flatten());
            }
            posts.sort_unstable();
            decisions.sort_by(|a, b| {
                (a.at, &a.evidence, &a.incident).cmp(&(b.at, &b.evidence, &b.incident))
            });
            let mut per: HashMap<(&str, ReviewVerdict), usize> = HashMap::new();
            let decisions = decisions
                .into_iter()
                .filter(|d| {
                    let n = per.entry((d.incident.as_str(), d.verdict)).or_default();
                    *n += 1;
                    *n <= NEAR_DECISIONS_KEPT
                })
                .cloned()
                .collect();
            lent.insert(key, Rc::new(Lent { posts, decisions }));
        }
        self.lent = lent;
    }

    fn evidence(&self, catalog: &dyn Catalog, item: Sha256) -> Result<Evidence, IncidentError> {
        let posts = self
            .sightings
            .get(&item)
            .map(|v| v.iter().map(post).collect())
            .unwrap_or_default();
        // The earliest of the near-duplicates' posts: they date the footage
        // and, failing the item's own, place it; a bounded number keeps a
        // cluster of thousands from costing thousands per member.
        let lent = self
            .members
            .get(&item)
            .and_then(|m| self.lent.get(&cluster_key(m)))
            .cloned()
            .unwrap_or_default();
        let near = lent
            .posts
            .iter()
            .filter(|(_, m, _)| *m != item)
            .take(NEAR_POSTS)
            .filter_map(|(_, m, i)| self.sightings.get(m).and_then(|v| v.get(*i)))
            .map(post)
            .collect();
        let near_decisions = lent
            .decisions
            .iter()
            .filter(|d| d.evidence != item)
            .cloned()
            .collect();
        let metadata = catalog.metadata(&item)?;
        Ok(Evidence {
            item,
            posts,
            near,
            gps: metadata.as_ref().and_then(trusted_gps),
            capture: metadata.as_ref().and_then(trusted_capture),
            decisions: self.decisions.get(&item).cloned().unwrap_or_default(),
            near_decisions,
        })
    }
}

fn post(s: &Sighting) -> Post {
    let label = match (&s.platform, &s.author) {
        (Some(p), Some(a)) => format!("{p} {a}"),
        (Some(p), None) => p.clone(),
        (None, Some(a)) => a.clone(),
        (None, None) => format!("{} {}", s.source.kind.as_str(), s.source.locator),
    };
    Post {
        label: label.chars().take(80).collect(),
        author: s.author.clone(),
        time: s.posted_time(),
        collected_at: s.collected_at,
        caption: s.caption.clone().unwrap_or_default(),
    }
}

/// GPS from the file, unless the metadata flags it as impossible.
fn trusted_gps(m: &Metadata) -> Option<(f64, f64)> {
    if m.has_flag("gps-impossible") || m.has_flag("gps-null-island") {
        return None;
    }
    m.summary
        .gps
        .as_ref()
        .or_else(|| m.video.as_ref().and_then(|v| v.location.as_ref()))
        .map(|g| (g.lat, g.lon))
}

/// The camera clock (an image's capture time, else a video container's
/// creation time), unless an editor touched the file or the time is bad.
fn trusted_capture(m: &Metadata) -> Option<PostTime> {
    if m.has_flag("editing-software") || m.has_flag("time-invalid") {
        return None;
    }
    // Zeroed clocks (1904, 1970) and dates in the future say nothing.
    let sane = |p: &PostTime| p.utc.year() >= 2000 && p.utc <= Utc::now() + Duration::days(1);
    capture_time(m).filter(sane)
}

fn capture_time(m: &Metadata) -> Option<PostTime> {
    let Some(t) = m.summary.taken_at.as_ref() else {
        return m
            .video
            .as_ref()
            .and_then(|v| v.creation_time.as_deref())
            .and_then(parse_post_time);
    };
    match t.utc {
        Some(utc) if t.offset.is_some() => Some(PostTime {
            utc,
            slack: Duration::zero(),
        }),
        _ => parse_post_time(&t.value).map(|p| PostTime {
            slack: p.slack.max(Duration::hours(14)),
            ..p
        }),
    }
}

/// Score every item against the registry, store the assessments, and
/// propose incidents for what fits none.
pub fn refresh_all(
    catalog: &dyn Catalog,
    gazetteer: &Gazetteer,
) -> Result<Refreshed, IncidentError> {
    let items: Vec<Sha256> = catalog
        .items()?
        .map(|i| i.map(|i| i.sha256))
        .collect::<Result<_, _>>()?;
    refresh(catalog, gazetteer, &items, true)
}

/// Score `items` and everything clustered with them (a new item changes
/// what its near-duplicates lean on), and store the assessments.
pub fn refresh_items(
    catalog: &dyn Catalog,
    gazetteer: &Gazetteer,
    items: &[Sha256],
) -> Result<Refreshed, IncidentError> {
    refresh(catalog, gazetteer, items, false)
}

fn refresh(
    catalog: &dyn Catalog,
    gazetteer: &Gazetteer,
    items: &[Sha256],
    propose_new: bool,
) -> Result<Refreshed, IncidentError> {
    let incidents = catalog.incidents()?;
    let snapshot = if propose_new {
        Snapshot::load(catalog)?
    } else {
        Snapshot::load_for(catalog, items)?
    };
    let assessor = Assessor::new(&incidents, gazetteer);
    let mut todo: Vec<Sha256> = Vec::new();
    let mut seen = HashSet::new();
    for item in items {
        let group: Rc<[Sha256]> = snapshot
            .members
            .get(item)
            .cloned()
            .unwrap_or_else(|| Rc::from([*item]));
        for m in group.iter() {
            if seen.insert(*m) {
                todo.push(*m);
            }
        }
    }
    let now = Utc::now();
    let mut out = Refreshed::default();
    let mut unplaced: Vec<(Sha256, Features)> = Vec::new();
    for item in todo {
        let evidence = snapshot.evidence(catalog, item)?;
        let (assessment, features) = assessor.assess(&evidence, now);
        tally(&mut out, &assessment);
        let fits = assessment
            .candidates
            .first()
            .is_some_and(|c| c.score >= 0.4);
        if !fits {
            unplaced.push((item, features));
        }
        catalog.put_assessment(&assessment)?;
    }
    if propose_new {
        out.proposals = propose(&unplaced);
    }
    Ok(out)
}

fn tally(out: &mut Refreshed, a: &Assessment) {
    out.items += 1;
    match a.candidates.first().map(|c| c.band) {
        Some(sightline_core::Band::High) => out.high += 1,
        Some(sightline_core::Band::Medium) => out.medium += 1,
        _ => {}
    }
    if a.flags.iter().any(|f| f.code == "recycled-footage") {
        out.flagged_recycled += 1;
    }
}

/// Items that fit no incident, speak of violence, and are dated and
/// placed, grouped by place and a 48-hour window: three or more items from
/// two or more authors make a proposal.
pub fn propose(unplaced: &[(Sha256, Features)]) -> Vec<Proposal> {
    type Dated<'a> = (Sha256, DateTime<Utc>, &'a PlaceRef, &'a Features);
    let mut by_place: HashMap<&str, Vec<Dated<'_>>> = HashMap::new();
    for (item, f) in unplaced {
        if let (true, Some(t), Some(p)) = (f.violent, f.first_seen, &f.place)
            && p.kind >= PlaceKind::City
        {
            by_place
                .entry(p.id.as_str())
                .or_default()
                .push((*item, t, p, f));
        }
    }
    let mut out = Vec::new();
    for (_, mut group) in by_place {
        group.sort_by_key(|u| u.1);
        let mut start = 0;
        while start < group.len() {
            let t0 = group[start].1;
            let end = group[start..]
                .iter()
                .position(|u| u.1 - t0 > Duration::hours(48))
                .map_or(group.len(), |p| start + p);
            let window = &group[start..end];
            let mut authors: Vec<String> =
                window.iter().flat_map(|u| u.3.authors.clone()).collect();
            authors.sort();
            authors.dedup();
            if window.len() < 3 || authors.len() < 2 {
                start += 1;
                continue;
            }
            let place = window[0].2.clone();
            let mut concepts: Vec<&'static str> =
                window.iter().flat_map(|u| u.3.concepts.clone()).collect();
            concepts.sort();
            concepts.dedup();
            let date = t0.date_naive();
            out.push(Proposal {
                id: format!(
                    "proposal-{}-{}",
                    date.format("%Y%m%d"),
                    place.id.replace([':', ','], "-")
                ),
                date,
                why: format!(
                    "{} items from {} authors within 48 h name {} and speak of {}; no registered incident fits",
                    window.len(),
                    authors.len(),
                    place.name,
                    concepts.join(", ")
                ),
                place,
                items: window.iter().map(|u| u.0).collect(),
                authors,
                concepts,
            });
            start = end;
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sightline_store::Store;
    use sightline_store::contract::sample;

    /// A cluster of 300 re-posts, each posted a minute before the last one
    /// made, each confirmed for one incident by an analyst: every member's
    /// evidence carries the 64 earliest posts of the others and a bounded
    /// set of their decisions, whichever way the snapshot was loaded.
    #[test]
    fn a_cluster_lends_its_earliest_posts_and_a_bounded_set_of_decisions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_embedded(dir.path()).expect("store");
        let catalog = store.catalog();
        let start: DateTime<Utc> = "2024-03-22T12:00:00Z".parse().expect("time");
        let posted = |i: usize| start - Duration::minutes(i as i64);
        let mut shas = Vec::new();
        for i in 0..300 {
            let mut r = sample(format!("re-post {i}").as_bytes(), &format!("/r/{i}"), 0);
            r.sighting.posted_at = Some(posted(i).to_rfc3339());
            shas.push(r.item.sha256);
            catalog.record(r).expect("record");
        }
        for sha in &shas[1..] {
            catalog.link(sha, &[shas[0]]).expect("link");
        }
        let day = start.date_naive();
        for id in ["crocus", "other"] {
            let incident = Incident::new(id, day, "Krasnogorsk", 55.82, 37.39);
            catalog.put_incident(incident, "test").expect("incident");
        }
        for (i, sha) in shas.iter().enumerate() {
            catalog
                .decide(ReviewDecision {
                    evidence: *sha,
                    incident: "crocus".into(),
                    verdict: ReviewVerdict::Confirm,
                    analyst: "ana".into(),
                    note: String::new(),
                    at: start + Duration::seconds(i as i64),
                })
                .expect("decide");
        }
        catalog
            .decide(ReviewDecision {
                evidence: shas[7],
                incident: "other".into(),
                verdict: ReviewVerdict::Reject,
                analyst: "ana".into(),
                note: String::new(),
                at: start,
            })
            .expect("decide");

        // The earliest member, the latest, and one decided both ways.
        for who in [299usize, 0, 7] {
            let item = shas[who];
            for snap in [
                Snapshot::load(catalog).expect("load"),
                Snapshot::load_for(catalog, &[item]).expect("load for"),
            ] {
                let e = snap.evidence(catalog, item).expect("evidence");
                assert_eq!(e.posts.len(), 1);
                let want: Vec<DateTime<Utc>> = (0..300)
                    .rev()
                    .filter(|&i| i != who)
                    .take(NEAR_POSTS)
                    .map(posted)
                    .collect();
                let got: Vec<DateTime<Utc>> = e
                    .near
                    .iter()
                    .filter_map(|p| p.time.map(|t| t.utc))
                    .collect();
                assert_eq!(got, want, "member {who}");
                // The five earliest confirmations of the others (and the
                // sixth, in case one of the five is the item's own).
                assert!(e.near_decisions.iter().all(|d| d.evidence != item));
                let confirmed: Vec<Sha256> = e
                    .near_decisions
                    .iter()
                    .filter(|d| d.verdict == ReviewVerdict::Confirm)
                    .map(|d| d.evidence)
                    .collect();
                let want: Vec<Sha256> = shas[..NEAR_DECISIONS_KEPT]
                    .iter()
                    .filter(|s| **s != item)
                    .copied()
                    .collect();
                assert_eq!(confirmed, want, "member {who}");
                let rejected = e
                    .near_decisions
                    .iter()
                    .filter(|d| d.verdict == ReviewVerdict::Reject)
                    .count();
                assert_eq!(rejected, usize::from(who != 7), "member {who}");
                assert_eq!(e.decisions.len(), 1 + usize::from(who == 7));
            }
        }
    }
}
