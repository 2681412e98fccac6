//! Text folding and phrase finding, for place names and event words in any
//! script.
//!
//! [`fold`] reduces text to lowercase tokens in which spelling variants
//! meet: Arabic-script letters that Dari, Pashto and Arabic write
//! differently (ي/ی, ك/ک, ة/ه, the alefs), vowel marks, tatweel, joiners
//! and direction marks dropped; Latin accents dropped and a few
//! transliteration habits evened out (q/k, ou/u, ee/i, doubled letters, the
//! `-e-`/`-i-`/`ul` connectors of Persian names). [`PhraseIndex`] then finds
//! phrases in folded text, ignoring how words were spaced or joined
//! ("جلال‌آباد", "جلال آباد" and "جلالآباد" are one name).

use std::collections::HashMap;

/// Longest phrase, in tokens, that [`PhraseIndex`] looks for.
const MAX_TOKENS: usize = 8;

/// Fold `text` into lowercase tokens (see the module docs).
pub fn fold(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut cur = String::new();
    // Texts are captions: bound the work on hostile input.
    for c in text.chars().take(100_000) {
        match fold_char(c) {
            Folded::Drop => {}
            Folded::Break => {
                if !cur.is_empty() {
                    tokens.push(std::mem::take(&mut cur));
                }
            }
            Folded::Char(f) => cur.push(f),
            Folded::Str(s) => cur.push_str(s),
        }
    }
    if !cur.is_empty() {
        tokens.push(cur);
    }
    tokens
        .into_iter()
        .map(|t| transliteration(&t))
        .filter(|t| !t.is_empty() && !CONNECTORS.contains(&t.as_str()))
        .collect()
}

/// Persian izafe and Arabic article connectors, dropped so "Dasht-e-Barchi",
/// "Dasht Barchi" and "Sayed ul-Shuhada"/"Sayed al Shuhada" meet.
const CONNECTORS: &[&str] = &["e", "i", "ye", "ul", "al", "el", "ol", "ush", "ash"];

enum Folded {
    Drop,
    Break,
    Char(char),
    Str(&'static str),
}

fn fold_char(c: char) -> Folded {
    use Folded::*;
    match c {
        // Arabic-script letter variants.
        'ي' | 'ى' | 'ئ' | 'ې' | 'ۍ' | 'ے' => Char('ی'),
        'ك' | 'ګ' => Char('ک'),
        'ة' | 'ۀ' | 'ە' | 'ہ' | 'ھ' => Char('ه'),
        'أ' | 'إ' | 'آ' | 'ٱ' => Char('ا'),
        'ؤ' => Char('و'),
        // Vowel marks, tatweel, superscript alef; joiners and direction marks.
        '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}' => Drop,
        '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}' => Drop,
        // Arabic-Indic and Persian digits.
        '\u{0660}'..='\u{0669}' => Char(char::from(b'0' + (c as u32 - 0x0660) as u8)),
        '\u{06F0}'..='\u{06F9}' => Char(char::from(b'0' + (c as u32 - 0x06F0) as u8)),
        'ё' | 'Ё' => Char('е'),
        '\'' | '’' | 'ʼ' | '‘' | '`' | 'ʻ' => Drop,
        _ if c.is_ascii_alphanumeric() => Char(c.to_ascii_lowercase()),
        _ if c.is_alphanumeric() => match latin_base(c) {
            Some(s) => Str(s),
            None => {
                let mut l = c.to_lowercase();
                match (l.next(), l.next()) {
                    (Some(x), None) => Char(x),
                    _ => Char(c),
                }
            }
        },
        _ => Break,
    }
}

/// Latin letters with accents, to their base letters.
fn latin_base(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å'
        | 'Ā' => "a",
        'ç' | 'ć' | 'č' | 'Ç' | 'Č' => "c",
        'ď' | 'đ' | 'ḍ' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' | 'È' | 'É' | 'Ê' | 'Ë' | 'Ē' => {
            "e"
        }
        'ğ' | 'ġ' | 'Ğ' => "g",
        'ḥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'ı' | 'İ' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' => "i",
        'ñ' | 'ń' | 'ň' | 'Ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō' => {
            "o"
        }
        'ř' => "r",
        'ś' | 'š' | 'ş' | 'ṣ' | 'Ś' | 'Š' | 'Ş' => "s",
        'ť' | 'ţ' | 'ṭ' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' => "u",
        'ý' | 'ÿ' | 'Ý' => "y",
        'ź' | 'ż' | 'ž' | 'ẓ' | 'Ž' => "z",
        'ß' => "ss",
        _ => return None,
    })
}

/// Even out transliteration habits in a Latin token; others pass through.
fn transliteration(token: &str) -> String {
    if !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return token.to_string();
    }
    let t = token
        .replace('q', "k")
        .replace("ou", "u")
        .replace("ee", "i")
        .replace("oo", "u");
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        if out.ends_with(c) && c.is_ascii_alphabetic() {
            continue;
        }
        out.push(c);
    }
    out
}

/// One phrase found in a text: which entry, and which tokens it spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub entry: usize,
    pub start: usize,
    pub len: usize,
}

/// Phrases (place names, event words) to find in folded text. Phrase keys
/// are their folded tokens run together, so spacing and joiners do not
/// matter; a phrase ending in `*` matches any token starting with it.
#[derive(Debug, Default, Clone)]
pub struct PhraseIndex {
    exact: HashMap<String, Vec<usize>>,
    prefixes: Vec<(String, usize)>,
}

impl PhraseIndex {
    pub fn new() -> PhraseIndex {
        PhraseIndex::default()
    }

    /// Add `phrase` for `entry`. Phrases that fold to nothing, or to more
    /// than eight tokens, are ignored.
    pub fn add(&mut self, phrase: &str, entry: usize) {
        if let Some(stem) = phrase.strip_suffix('*') {
            let tokens = fold(stem);
            if let [one] = tokens.as_slice()
                && one.chars().count() >= 3
            {
                self.prefixes.push((one.clone(), entry));
            }
            return;
        }
        let tokens = fold(phrase);
        if tokens.is_empty() || tokens.len() > MAX_TOKENS {
            return;
        }
        let key: String = tokens.concat();
        if key.chars().count() < 3 {
            return;
        }
        let list = self.exact.entry(key).or_default();
        if !list.contains(&entry) {
            list.push(entry);
        }
    }

    /// Every phrase in `tokens`, longest first where they overlap.
    pub fn find(&self, tokens: &[String]) -> Vec<Found> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            let mut matched = 0;
            let mut key = String::new();
            let mut best: Option<(usize, &Vec<usize>)> = None;
            for n in 1..=MAX_TOKENS.min(tokens.len() - i) {
                key.push_str(&tokens[i + n - 1]);
                if let Some(entries) = self.exact.get(&key) {
                    best = Some((n, entries));
                }
            }
            if let Some((n, entries)) = best {
                for &entry in entries {
                    out.push(Found {
                        entry,
                        start: i,
                        len: n,
                    });
                }
                matched = n;
            } else {
                for (p, entry) in &self.prefixes {
                    if tokens[i].starts_with(p.as_str()) {
                        out.push(Found {
                            entry: *entry,
                            start: i,
                            len: 1,
                        });
                        matched = 1;
                    }
                }
            }
            i += matched.max(1);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> String {
        fold(s).join(" ")
    }

    #[test]
    fn transliterations_meet() {
        assert_eq!(f("Dasht-e-Barchi"), f("Dasht-i-Barchi"));
        assert_eq!(f("Dasht-e-Barchi"), f("Dasht Barchi"));
        assert_eq!(f("Qunduz"), f("Kunduz"));
        assert_eq!(f("Qandahar"), f("Kandahar"));
        assert_eq!(f("Mazar-i-Sharif"), f("Mazar-e-Sharif"));
        assert_eq!(f("Sayed ul-Shuhada"), f("Sayed al Shuhada"));
        assert_eq!(f("Kābul"), "kabul");
        assert_eq!(f("Herat's"), "herats");
    }

    #[test]
    fn arabic_script_variants_meet() {
        // Arabic yeh and kaf against Persian ones, vowel marks, tatweel.
        assert_eq!(f("كابل"), f("کابل"));
        assert_eq!(f("مـزار شريف"), f("مزار شریف"));
        assert_eq!(f("قُندوز"), f("قندوز"));
        // Bidi controls around RTL text are dropped.
        assert_eq!(f("\u{202B}کابل\u{202C}"), "کابل");
        assert_eq!(f("۱۴۰۱"), "1401");
    }

    #[test]
    fn phrases_are_found_however_spaced_or_joined() {
        let mut idx = PhraseIndex::new();
        idx.add("جلال آباد", 0);
        idx.add("Dasht-e-Barchi", 1);
        idx.add("explo*", 2);
        idx.add("Kabul", 3);
        for text in ["انفجار در جلال‌آباد", "جلالآباد", "جلال آباد امروز"]
        {
            let found = idx.find(&fold(text));
            assert_eq!(
                found.iter().map(|x| x.entry).collect::<Vec<_>>(),
                vec![0],
                "{text}"
            );
        }
        let found = idx.find(&fold("Explosions in Dashte-Barchi, west Kabul"));
        let mut entries: Vec<usize> = found.iter().map(|x| x.entry).collect();
        entries.sort();
        assert_eq!(entries, vec![2, 3]);
        let found = idx.find(&fold("Explosions in Dasht i Barchi, west Kabul"));
        let mut entries: Vec<usize> = found.iter().map(|x| x.entry).collect();
        entries.sort();
        assert_eq!(entries, vec![1, 2, 3]);
    }

    #[test]
    fn hostile_text_is_bounded() {
        let long = "کابل ".repeat(1_000_000);
        assert!(fold(&long).len() <= 100_000);
        assert!(fold("<script>alert(1)</script>").contains(&"script".to_string()));
    }
}
