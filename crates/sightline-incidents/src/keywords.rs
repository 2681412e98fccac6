//! Event words in English, Dari, Pashto, Arabic and Russian, mapped to the
//! concepts the scorer compares: what was hit (a mosque, a school), how (a
//! suicide bomber, gunmen), and words that say a picture is not of an
//! attack at all (a wedding, a match).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use crate::text::{PhraseIndex, fold};

/// The kind of a concept, which decides how it is weighed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// What or who was attacked.
    Target,
    /// How.
    Method,
    /// That something violent happened, nothing more.
    Violence,
    /// Ordinary life: the picture is probably not of an attack.
    Benign,
}

/// A concept and its words. `*` ends a prefix (Latin script only).
struct Concept {
    name: &'static str,
    kind: Kind,
    words: &'static [&'static str],
}

const CONCEPTS: &[Concept] = &[
    Concept {
        name: "mosque",
        kind: Kind::Target,
        words: &[
            "mosque*",
            "masjid",
            "praying",
            "prayers",
            "worshipper*",
            "namaz",
            "نماز",
            "لمونځ",
            "imam bargah",
            "imambargah",
            "husseiniya",
            "hussainia",
            "shia worshippers",
            "friday prayer*",
            "مسجد",
            "جومات",
            "امام بارگاه",
            "تکیه خانه",
            "نماز جمعه",
            "مسجد",
            "мечет*",
        ],
    },
    Concept {
        name: "school",
        kind: Kind::Target,
        words: &[
            "school*",
            "educational cent*",
            "education cent*",
            "tuition",
            "exam*",
            "student*",
            "pupil*",
            "classroom*",
            "university",
            "مکتب",
            "مدرسه",
            "مرکز آموزشی",
            "آموزشگاه",
            "کورس",
            "دانش آموز*",
            "شاگرد*",
            "ښوونځی",
            "ښوونځي",
            "زده کوونک*",
            "школ*",
            "студент*",
        ],
    },
    Concept {
        name: "hospital",
        kind: Kind::Target,
        words: &[
            "hospital*",
            "clinic*",
            "medical cent*",
            "شفاخانه",
            "بیمارستان",
            "روغتون",
            "больниц*",
            "госпитал*",
        ],
    },
    Concept {
        name: "hotel",
        kind: Kind::Target,
        words: &[
            "hotel*",
            "guesthouse*",
            "هوتل",
            "هتل",
            "مهمانخانه",
            "гостиниц*",
            "отел*",
        ],
    },
    Concept {
        name: "embassy",
        kind: Kind::Target,
        words: &[
            "embass*",
            "diplomat*",
            "consulate*",
            "سفارت",
            "سفارتخانه",
            "посольств*",
            "дипломат*",
        ],
    },
    Concept {
        name: "ministry",
        kind: Kind::Target,
        words: &[
            "ministry",
            "ministries",
            "governor*",
            "government office*",
            "وزارت",
            "والی",
            "ولایت",
            "دفتر والی",
            "وزارت خارجه",
            "وزارت امور خارجه",
            "والي",
            "министерств*",
        ],
    },
    Concept {
        name: "airport",
        kind: Kind::Target,
        words: &[
            "airport*",
            "abbey gate",
            "evacuat*",
            "hkia",
            "فرودگاه",
            "میدان هوایی",
            "هوايي ډګر",
            "аэропорт*",
        ],
    },
    Concept {
        name: "bank",
        kind: Kind::Target,
        words: &["bank*", "salar*", "بانک", "معاش", "банк*"],
    },
    Concept {
        name: "concert",
        kind: Kind::Target,
        words: &[
            "concert*",
            "crocus",
            "city hall",
            "concert hall",
            "کنسرت",
            "крокус",
            "концерт*",
        ],
    },
    Concept {
        name: "checkpoint",
        kind: Kind::Target,
        words: &[
            "checkpoint*",
            "check post*",
            "پوسته",
            "ایست بازرسی",
            "پوسته امنیتی",
            "блокпост*",
        ],
    },
    Concept {
        name: "vehicle",
        kind: Kind::Target,
        words: &[
            "bus",
            "buses",
            "minibus*",
            "van",
            "vehicle*",
            "موتر",
            "بس",
            "مینی بس",
            "автобус*",
        ],
    },
    Concept {
        name: "shrine",
        kind: Kind::Target,
        words: &[
            "shrine*",
            "zarih",
            "زیارت",
            "زيارتګاه",
            "زیارتگاه",
            "святын*",
        ],
    },
    Concept {
        name: "tourists",
        kind: Kind::Target,
        words: &["tourist*", "گردشگر*", "سیاح*", "турист*"],
    },
    Concept {
        name: "suicide",
        kind: Kind::Method,
        words: &[
            "suicide",
            "suicide bomb*",
            "self blast",
            "bomber*",
            "انتحاری",
            "حمله انتحاری",
            "ځانمرګی",
            "ځان وژونکی",
            "استشهادی",
            "смертник*",
        ],
    },
    Concept {
        name: "explosion",
        kind: Kind::Method,
        words: &[
            "blast*",
            "explo*",
            "bomb*",
            "dhamak*",
            "ied",
            "magnetic",
            "detonat*",
            "انفجار",
            "انفجارها",
            "بم",
            "ماین",
            "چاودن*",
            "چاودنه",
            "بمبار*",
            "взрыв*",
            "теракт",
        ],
    },
    Concept {
        name: "gunfire",
        kind: Kind::Method,
        words: &[
            "gunm*",
            "gunfire",
            "shooting",
            "shot",
            "shots",
            "firing",
            "gunshot*",
            "assailant*",
            "تیراندازی",
            "فیر",
            "ډزې",
            "ډزو",
            "стрельб*",
            "автомат*",
            "боевик*",
        ],
    },
    Concept {
        name: "violence",
        kind: Kind::Violence,
        words: &[
            "attack*",
            "killed",
            "dead",
            "wounded",
            "injured",
            "casualt*",
            "victim*",
            "martyr*",
            "terror*",
            "isis",
            "isis k",
            "iskp",
            "daesh",
            "daish",
            "حمله",
            "حملات",
            "کشته",
            "زخمی",
            "شهید*",
            "قربانی",
            "داعش",
            "برید",
            "بریدونه",
            "وژل",
            "ټپي",
            "مړه",
            "شهیدان",
            "нападени*",
            "погиб*",
            "жертв*",
            "ранен*",
            "игил",
        ],
    },
    Concept {
        name: "sport",
        kind: Kind::Benign,
        words: &[
            "football",
            "cricket",
            "match",
            "league",
            "tournament",
            "goal",
            "buzkashi",
            "فوتبال",
            "کرکت",
            "مسابقه",
            "بزکشی",
            "لوبه",
            "футбол*",
            "матч",
        ],
    },
    Concept {
        name: "weather",
        kind: Kind::Benign,
        words: &[
            "weather",
            "rain",
            "snow",
            "snowfall",
            "sunset",
            "sunrise",
            "rainbow",
            "باران",
            "برف",
            "غروب",
            "واوره",
            "погода",
            "снег",
        ],
    },
    Concept {
        name: "celebration",
        kind: Kind::Benign,
        words: &[
            "wedding*",
            "birthday",
            "festival",
            "nowruz",
            "eid mubarak",
            "graduation",
            "kite*",
            "عروسی",
            "نوروز",
            "جشن",
            "پتنگ",
            "پتنګ",
            "واده",
            "свадьб*",
            "праздник",
        ],
    },
    Concept {
        name: "everyday life",
        kind: Kind::Benign,
        words: &[
            "pigeons",
            "flowers",
            "garden",
            "recipe",
            "fruit*",
            "pomegranate*",
            "picnic",
            "کبوتر",
            "گل",
            "باغ",
            "انار",
            "میوه",
            "кухня",
        ],
    },
];

/// The concepts found in a text, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Concepts {
    pub found: BTreeSet<(Kind, &'static str)>,
}

impl Concepts {
    pub fn of(kind: Kind, set: &Concepts) -> Vec<&'static str> {
        set.found
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, n)| *n)
            .collect()
    }

    pub fn names(&self, kind: Kind) -> Vec<&'static str> {
        Concepts::of(kind, self)
    }

    pub fn has(&self, kind: Kind) -> bool {
        self.found.iter().any(|(k, _)| *k == kind)
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }
}

fn index() -> &'static PhraseIndex {
    static INDEX: OnceLock<PhraseIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut idx = PhraseIndex::new();
        for (i, c) in CONCEPTS.iter().enumerate() {
            for w in c.words {
                idx.add(w, i);
            }
        }
        idx
    })
}

/// The concepts in already folded text.
pub fn concepts_in(tokens: &[String]) -> Concepts {
    let mut out = Concepts::default();
    for f in index().find(tokens) {
        let c = &CONCEPTS[f.entry];
        out.found.insert((c.kind, c.name));
    }
    out
}

/// The concepts in `text`.
pub fn concepts(text: &str) -> Concepts {
    concepts_in(&fold(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_in_every_language_reach_their_concept() {
        let c = concepts("Huge blast at a Shia mosque in Kunduz during Friday prayers");
        assert_eq!(c.names(Kind::Target), vec!["mosque"]);
        assert_eq!(c.names(Kind::Method), vec!["explosion"]);
        let c = concepts("انفجار انتحاری در مسجد شیعیان قندوز");
        assert_eq!(c.names(Kind::Target), vec!["mosque"]);
        assert_eq!(c.names(Kind::Method), vec!["explosion", "suicide"]);
        let c = concepts("په کندهار کې په جومات ځانمرګی برید");
        assert_eq!(c.names(Kind::Target), vec!["mosque"]);
        assert_eq!(c.names(Kind::Method), vec!["suicide"]);
        assert!(c.has(Kind::Violence));
        let c = concepts("Стрельба и взрывы в Крокус Сити Холл");
        assert_eq!(c.names(Kind::Target), vec!["concert"]);
        assert_eq!(c.names(Kind::Method), vec!["explosion", "gunfire"]);
        assert!(concepts("Beautiful wedding in Herat tonight").has(Kind::Benign));
        assert_eq!(
            concepts("First proper snow in Kabul").names(Kind::Benign),
            vec!["weather"]
        );
        assert!(concepts("pray for Kabul").is_empty());
    }
}
