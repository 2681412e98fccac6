//! A small little-endian TIFF/EXIF writer producing the payload of a JPEG
//! APP1 segment: IFD0 (with Exif and GPS sub-IFD pointers), the Exif IFD and
//! the GPS IFD. No thumbnail (IFD1) is written.

#[derive(Debug, Clone)]
enum Value {
    Byte(Vec<u8>),
    Ascii(String),
    Short(Vec<u16>),
    Long(Vec<u32>),
    Rational(Vec<(u32, u32)>),
    Undefined(Vec<u8>),
}

impl Value {
    fn type_id(&self) -> u16 {
        match self {
            Value::Byte(_) => 1,
            Value::Ascii(_) => 2,
            Value::Short(_) => 3,
            Value::Long(_) => 4,
            Value::Rational(_) => 5,
            Value::Undefined(_) => 7,
        }
    }

    fn count(&self) -> u32 {
        let n = match self {
            Value::Byte(v) | Value::Undefined(v) => v.len(),
            Value::Ascii(s) => s.len() + 1,
            Value::Short(v) => v.len(),
            Value::Long(v) => v.len(),
            Value::Rational(v) => v.len(),
        };
        n as u32
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Value::Byte(v) | Value::Undefined(v) => out.extend_from_slice(v),
            Value::Ascii(s) => {
                out.extend_from_slice(s.as_bytes());
                out.push(0);
            }
            Value::Short(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Value::Long(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Value::Rational(v) => v.iter().for_each(|(n, d)| {
                out.extend_from_slice(&n.to_le_bytes());
                out.extend_from_slice(&d.to_le_bytes());
            }),
        }
        out
    }
}

#[derive(Debug, Clone)]
struct Entry {
    tag: u16,
    value: Value,
}

fn e(tag: u16, value: Value) -> Entry {
    Entry { tag, value }
}

fn padded(n: usize) -> usize {
    n + (n & 1)
}

fn ifd_len(entries: &[Entry]) -> usize {
    let data: usize = entries
        .iter()
        .map(|x| x.value.bytes().len())
        .filter(|n| *n > 4)
        .map(padded)
        .sum();
    2 + 12 * entries.len() + 4 + data
}

/// Serialise one IFD that starts at TIFF offset `start`.
fn write_ifd(out: &mut Vec<u8>, entries: &[Entry], start: usize, next: u32) {
    let mut sorted = entries.to_vec();
    sorted.sort_by_key(|x| x.tag);
    let mut data_off = start + 2 + 12 * sorted.len() + 4;
    let mut data = Vec::new();
    out.extend_from_slice(&(sorted.len() as u16).to_le_bytes());
    for ent in &sorted {
        let b = ent.value.bytes();
        out.extend_from_slice(&ent.tag.to_le_bytes());
        out.extend_from_slice(&ent.value.type_id().to_le_bytes());
        out.extend_from_slice(&ent.value.count().to_le_bytes());
        if b.len() <= 4 {
            let mut inline = [0u8; 4];
            inline[..b.len()].copy_from_slice(&b);
            out.extend_from_slice(&inline);
        } else {
            out.extend_from_slice(&(data_off as u32).to_le_bytes());
            data.extend_from_slice(&b);
            if b.len() & 1 == 1 {
                data.push(0);
            }
            data_off += padded(b.len());
        }
    }
    out.extend_from_slice(&next.to_le_bytes());
    out.extend_from_slice(&data);
}

/// An angle as written to the GPS IFD: whole degrees, whole minutes and
/// seconds in hundredths.
#[derive(Debug, Clone, Copy)]
pub struct Dms {
    pub deg: u32,
    pub min: u32,
    pub sec_centi: u32,
}

impl Dms {
    /// Split a positive decimal angle, rounding seconds to 1/100.
    pub fn from_decimal(v: f64) -> Self {
        let total_centi = (v.abs() * 360_000.0).round() as u64;
        let deg = total_centi / 360_000;
        let rem = total_centi % 360_000;
        Self {
            deg: deg as u32,
            min: (rem / 6_000) as u32,
            sec_centi: (rem % 6_000) as u32,
        }
    }

    /// The exact value the three rationals encode.
    pub fn to_decimal(self) -> f64 {
        f64::from(self.deg) + f64::from(self.min) / 60.0 + f64::from(self.sec_centi) / 360_000.0
    }

    fn rationals(self) -> Vec<(u32, u32)> {
        vec![(self.deg, 1), (self.min, 1), (self.sec_centi, 100)]
    }
}

#[derive(Debug, Clone)]
pub struct ExifInfo {
    pub make: String,
    pub model: String,
    /// "YYYY:MM:DD HH:MM:SS", local time.
    pub datetime: String,
    pub subsec: String,
    /// "+04:30"
    pub offset: String,
    pub lat: Dms,
    pub lat_north: bool,
    pub lon: Dms,
    pub lon_east: bool,
    /// Metres above sea level, in centimetres.
    pub alt_cm: u32,
    /// UTC time of day (h, m, s).
    pub gps_time: (u32, u32, u32),
    /// "YYYY:MM:DD", UTC.
    pub gps_date: String,
    pub width: u32,
    pub height: u32,
}

/// Build the APP1 payload ("Exif\0\0" + TIFF).
pub fn app1_payload(info: &ExifInfo) -> Vec<u8> {
    let mut ifd0 = vec![
        e(0x010F, Value::Ascii(info.make.clone())),
        e(0x0110, Value::Ascii(info.model.clone())),
        e(0x0112, Value::Short(vec![1])),
        e(0x011A, Value::Rational(vec![(72, 1)])),
        e(0x011B, Value::Rational(vec![(72, 1)])),
        e(0x0128, Value::Short(vec![2])),
        e(0x0132, Value::Ascii(info.datetime.clone())),
        e(0x0213, Value::Short(vec![1])),
        e(0x8769, Value::Long(vec![0])),
        e(0x8825, Value::Long(vec![0])),
    ];
    let exif = vec![
        e(0x9000, Value::Undefined(b"0232".to_vec())),
        e(0x9003, Value::Ascii(info.datetime.clone())),
        e(0x9004, Value::Ascii(info.datetime.clone())),
        e(0x9010, Value::Ascii(info.offset.clone())),
        e(0x9011, Value::Ascii(info.offset.clone())),
        e(0x9012, Value::Ascii(info.offset.clone())),
        e(0x9101, Value::Undefined(vec![1, 2, 3, 0])),
        e(0x9290, Value::Ascii(info.subsec.clone())),
        e(0x9291, Value::Ascii(info.subsec.clone())),
        e(0x9292, Value::Ascii(info.subsec.clone())),
        e(0xA000, Value::Undefined(b"0100".to_vec())),
        e(0xA001, Value::Short(vec![1])),
        e(0xA002, Value::Long(vec![info.width])),
        e(0xA003, Value::Long(vec![info.height])),
    ];
    let (h, m, s) = info.gps_time;
    let gps = vec![
        e(0x0000, Value::Byte(vec![2, 3, 0, 0])),
        e(
            0x0001,
            Value::Ascii(if info.lat_north { "N" } else { "S" }.into()),
        ),
        e(0x0002, Value::Rational(info.lat.rationals())),
        e(
            0x0003,
            Value::Ascii(if info.lon_east { "E" } else { "W" }.into()),
        ),
        e(0x0004, Value::Rational(info.lon.rationals())),
        e(0x0005, Value::Byte(vec![0])),
        e(0x0006, Value::Rational(vec![(info.alt_cm, 100)])),
        e(0x0007, Value::Rational(vec![(h, 1), (m, 1), (s, 1)])),
        e(0x001D, Value::Ascii(info.gps_date.clone())),
    ];

    let ifd0_off = 8usize;
    let exif_off = ifd0_off + ifd_len(&ifd0);
    let gps_off = exif_off + ifd_len(&exif);
    for ent in &mut ifd0 {
        match ent.tag {
            0x8769 => ent.value = Value::Long(vec![exif_off as u32]),
            0x8825 => ent.value = Value::Long(vec![gps_off as u32]),
            _ => {}
        }
    }

    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II");
    tiff.extend_from_slice(&42u16.to_le_bytes());
    tiff.extend_from_slice(&(ifd0_off as u32).to_le_bytes());
    write_ifd(&mut tiff, &ifd0, ifd0_off, 0);
    debug_assert_eq!(tiff.len(), exif_off);
    write_ifd(&mut tiff, &exif, exif_off, 0);
    debug_assert_eq!(tiff.len(), gps_off);
    write_ifd(&mut tiff, &gps, gps_off, 0);

    let mut out = b"Exif\0\0".to_vec();
    out.extend_from_slice(&tiff);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dms_round_trip() {
        let d = Dms::from_decimal(34.562);
        assert_eq!((d.deg, d.min, d.sec_centi), (34, 33, 4320));
        assert!((d.to_decimal() - 34.562).abs() < 1e-9);
    }
}
