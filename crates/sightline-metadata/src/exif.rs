//! EXIF (TIFF IFD) fields, read with kamadak-exif in continue-on-error
//! mode and named and valued the way ExifTool prints them with `-n -G1`.

use exif::{Context, In, Value};
use serde_json::{Value as Json, json};
use sightline_core::{MetaField, MetaIssue};

use crate::container::ExifBlock;

/// Fields and issues from one EXIF block.
#[derive(Debug, Default)]
pub(crate) struct ExifRead {
    pub fields: Vec<MetaField>,
    pub issues: Vec<MetaIssue>,
    /// The IFD1 JPEG thumbnail: file offset and bytes.
    pub thumbnail: Option<(usize, Vec<u8>)>,
    /// XMP carried in TIFF tag 700.
    pub xmp: Option<Vec<u8>>,
}

pub(crate) fn read(block: &ExifBlock<'_>) -> ExifRead {
    let mut out = ExifRead::default();
    let origin = &block.origin;
    let exif = match exif::Reader::new()
        .continue_on_error(true)
        .read_raw(block.tiff.to_vec())
    {
        Ok(e) => e,
        Err(exif::Error::PartialResult(p)) => {
            let (e, errors) = p.into_inner();
            for err in errors {
                out.issues.push(MetaIssue {
                    origin: origin.clone(),
                    code: "exif-partial".into(),
                    message: lower(&err.to_string()),
                });
            }
            e
        }
        Err(err) => {
            out.issues.push(MetaIssue {
                origin: origin.clone(),
                code: "exif-unreadable".into(),
                message: lower(&err.to_string()),
            });
            return out;
        }
    };
    let mut thumb_off: Option<u32> = None;
    let mut thumb_len: Option<u32> = None;
    for f in exif.fields() {
        let num = f.tag.number();
        let ctx = f.tag.context();
        let group = match (ctx, f.ifd_num) {
            (Context::Tiff, In(0)) => "IFD0".to_string(),
            (Context::Tiff, In(n)) => format!("IFD{n}"),
            (Context::Exif, _) => "ExifIFD".into(),
            (Context::Gps, _) => "GPS".into(),
            (Context::Interop, _) => "InteropIFD".into(),
            _ => "EXIF".into(),
        };
        let tag_origin = format!("{origin}/{group}/0x{num:04x}");
        // Pointers to other IFDs are structure, not values.
        if matches!(
            (ctx, num),
            (Context::Tiff, 0x8769 | 0x8825) | (Context::Exif, 0xa005)
        ) {
            continue;
        }
        if matches!((ctx, num), (Context::Tiff, 0x02bc)) {
            if let Value::Byte(b) | Value::Undefined(b, _) = &f.value {
                out.xmp = Some(b.clone());
            }
            continue;
        }
        if matches!((ctx, num), (Context::Exif, 0x927c)) {
            continue; // MakerNote: vendor-specific, not decoded
        }
        let name = tag_name(ctx, num);
        let value = match convert(ctx, num, &f.value) {
            Ok(v) => v,
            Err(msg) => {
                out.issues.push(MetaIssue {
                    origin: tag_origin.clone(),
                    code: "exif-value".into(),
                    message: format!("{name}: {msg}"),
                });
                raw_value(&f.value)
            }
        };
        if let Value::Ascii(parts) = &f.value
            && parts
                .first()
                .is_some_and(|p| std::str::from_utf8(p).is_err())
        {
            out.issues.push(MetaIssue {
                origin: tag_origin.clone(),
                code: "exif-encoding".into(),
                message: format!("{name}: not utf-8, read as latin-1"),
            });
        }
        if ctx == Context::Tiff && f.ifd_num == In(1) {
            match num {
                0x0201 => thumb_off = first_u32(&f.value),
                0x0202 => thumb_len = first_u32(&f.value),
                _ => {}
            }
        }
        // ExifTool reports the thumbnail's offset in the file.
        let value = if ctx == Context::Tiff && num == 0x0201 {
            match first_u32(&f.value) {
                Some(o) => json!(o as u64 + block.base as u64),
                None => value,
            }
        } else {
            value
        };
        out.fields.push(MetaField {
            key: format!("{group}:{name}"),
            value,
            origin: tag_origin,
        });
    }
    if let (Some(off), Some(len)) = (thumb_off, thumb_len) {
        let (off, len) = (off as usize, len as usize);
        match block.tiff.get(off..off.saturating_add(len)) {
            Some(bytes) if len > 0 => out.thumbnail = Some((block.base + off, bytes.to_vec())),
            _ => out.issues.push(MetaIssue {
                origin: format!("{origin}/IFD1/0x0201"),
                code: "exif-thumbnail".into(),
                message: format!("thumbnail of {len} bytes at {off} lies outside the exif data"),
            }),
        }
    }
    gps_composites(&mut out.fields, origin);
    out
}

fn lower(s: &str) -> String {
    let s = s.trim_end_matches('.');
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn first_u32(v: &Value) -> Option<u32> {
    match v {
        Value::Long(v) => v.first().copied(),
        Value::Short(v) => v.first().map(|&x| x as u32),
        _ => None,
    }
}

/// Signed decimal GPS position from the GPS IFD, as ExifTool's Composite
/// tags: latitude/longitude negated for S/W, altitude negated below sea
/// level.
fn gps_composites(fields: &mut Vec<MetaField>, origin: &str) {
    let get = |k: &str| fields.iter().find(|f| f.key == k).map(|f| f.value.clone());
    let mut add = Vec::new();
    for (val, reff, neg, name) in [
        ("GPS:GPSLatitude", "GPS:GPSLatitudeRef", "S", "GPSLatitude"),
        (
            "GPS:GPSLongitude",
            "GPS:GPSLongitudeRef",
            "W",
            "GPSLongitude",
        ),
    ] {
        if let Some(v) = get(val).and_then(|v| v.as_f64()) {
            let r = get(reff).and_then(|r| r.as_str().map(str::to_string));
            let signed = if r.as_deref().is_some_and(|r| r.starts_with(neg)) {
                -v
            } else {
                v
            };
            add.push(MetaField {
                key: format!("Composite:{name}"),
                value: json!(signed),
                origin: format!("{origin}/GPS (composite of {val} and {reff})"),
            });
        }
    }
    if let Some(v) = get("GPS:GPSAltitude").and_then(|v| v.as_f64()) {
        let below = get("GPS:GPSAltitudeRef").and_then(|r| r.as_u64()) == Some(1);
        add.push(MetaField {
            key: "Composite:GPSAltitude".into(),
            value: json!(if below { -v } else { v }),
            origin: format!("{origin}/GPS (composite of GPS:GPSAltitude and GPS:GPSAltitudeRef)"),
        });
    }
    if let (Some(d), Some(t)) = (get("GPS:GPSDateStamp"), get("GPS:GPSTimeStamp"))
        && let (Some(d), Some(t)) = (d.as_str(), t.as_str())
    {
        add.push(MetaField {
            key: "Composite:GPSDateTime".into(),
            value: json!(format!("{d} {t}Z")),
            origin: format!("{origin}/GPS (composite of GPS:GPSDateStamp and GPS:GPSTimeStamp)"),
        });
    }
    fields.extend(add);
}

/// The value as ExifTool prints it with `-n`.
fn convert(ctx: Context, num: u16, v: &Value) -> Result<Json, String> {
    use Context::*;
    match (ctx, num, v) {
        // Degrees, minutes, seconds → decimal degrees (unsigned; the Ref
        // tag carries the sign).
        // Some writers use signed rationals where the standard says
        // unsigned; ExifTool reads both.
        (Gps, 0x02 | 0x04 | 0x14 | 0x16, Value::Rational(_) | Value::SRational(_)) => {
            let r = rationals(v);
            if r.is_empty() || r.len() > 3 {
                return Err(format!("expected 1 to 3 rationals, found {}", r.len()));
            }
            let mut deg = 0.0;
            for (i, &(n, d)) in r.iter().enumerate() {
                if d == 0.0 {
                    return Err("zero denominator".into());
                }
                deg += n / d / [1.0, 60.0, 3600.0][i];
            }
            Ok(json!(deg))
        }
        (Gps, 0x07, Value::Rational(_) | Value::SRational(_)) => {
            let r = rationals(v);
            if r.len() != 3 {
                return Err(format!("expected 3 rationals, found {}", r.len()));
            }
            if r.iter().any(|x| x.1 == 0.0) {
                return Err("zero denominator".into());
            }
            let secs: f64 = r
                .iter()
                .zip([3600.0, 60.0, 1.0])
                .map(|((n, d), m)| n / d * m)
                .sum();
            Ok(json!(gps_time(secs)))
        }
        // ExifTool strips trailing blanks from these (camera firmware pads
        // them to a fixed width).
        (Tiff, 0x010f | 0x0110 | 0x0131 | 0x013b | 0x8298, Value::Ascii(parts))
        | (Exif, 0xa433 | 0xa434 | 0xa435 | 0xa431 | 0xa430, Value::Ascii(parts)) => Ok(json!(
            parts
                .first()
                .map(|p| latin1(p))
                .unwrap_or_default()
                .trim_end_matches([' ', '\t', '\r', '\n'])
        )),
        (Gps, 0x1b | 0x1c, Value::Undefined(b, _)) | (Exif, 0x9286, Value::Undefined(b, _)) => {
            Ok(json!(encoded_text(b)))
        }
        // Version strings stored as four undefined bytes.
        (Exif, 0x9000 | 0xa000, Value::Undefined(b, _))
        | (Interop, 0x0002, Value::Undefined(b, _)) => Ok(json!(latin1(trim_nul(b)))),
        // APEX values.
        (Exif, 0x9202 | 0x9205, Value::Rational(r)) if r.len() == 1 && r[0].denom != 0 => Ok(
            num_json(2f64.powf(r[0].num as f64 / r[0].denom as f64 / 2.0)),
        ),
        (Exif, 0x9201, Value::SRational(r)) if r.len() == 1 && r[0].denom != 0 => {
            Ok(num_json(2f64.powf(-(r[0].num as f64 / r[0].denom as f64))))
        }
        (Exif, 0xa300 | 0xa301, Value::Undefined(b, _)) if b.len() == 1 => Ok(json!(b[0])),
        _ => Ok(raw_value(v)),
    }
}

fn rationals(v: &Value) -> Vec<(f64, f64)> {
    match v {
        Value::Rational(r) => r.iter().map(|x| (x.num as f64, x.denom as f64)).collect(),
        Value::SRational(r) => r.iter().map(|x| (x.num as f64, x.denom as f64)).collect(),
        _ => Vec::new(),
    }
}

/// `hh:mm:ss[.fff]` from seconds since midnight, ExifTool's layout:
/// fractional seconds kept to what is needed, at most 6 digits.
fn gps_time(secs: f64) -> String {
    let secs = (secs * 1e6).round() / 1e6;
    let h = (secs / 3600.0).floor();
    let m = ((secs - h * 3600.0) / 60.0).floor();
    let s = secs - h * 3600.0 - m * 60.0;
    let mut sf = format!("{s:09.6}");
    while sf.ends_with('0') {
        sf.pop();
    }
    if sf.ends_with('.') {
        sf.pop();
    }
    format!("{:02}:{:02}:{sf}", h as u64, m as u64)
}

fn trim_nul(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|&c| c != 0).map_or(0, |p| p + 1);
    &b[..end]
}

fn latin1(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => b.iter().map(|&c| c as char).collect(),
    }
}

/// UserComment-style text: an 8-byte character code, then the text.
fn encoded_text(b: &[u8]) -> String {
    if b.len() < 8 {
        return latin1(trim_nul(b));
    }
    let (code, text) = b.split_at(8);
    let s = if code.starts_with(b"UNICODE") {
        let units: Vec<u16> = text
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        latin1(text)
    };
    s.trim_end_matches(['\0', ' ']).to_string()
}

/// A number as JSON, rounded to ExifTool's 10 significant digits for
/// rationals.
fn num_json(x: f64) -> Json {
    if !x.is_finite() {
        return json!(if x.is_nan() { "undef" } else { "inf" });
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return json!(x as i64);
    }
    let s = format!("{:.*e}", 9, x);
    let v: f64 = s.parse().unwrap_or(x);
    json!(v)
}

fn join<T: ToString>(v: &[T]) -> Json {
    if v.len() == 1 {
        Json::String(v[0].to_string())
    } else {
        Json::String(
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        )
    }
}

fn nums<T: Copy + Into<f64> + ToString>(v: &[T]) -> Json {
    if v.len() == 1 {
        num_json(v[0].into())
    } else {
        join(v)
    }
}

fn ratio(n: f64, d: f64) -> f64 {
    if d == 0.0 {
        if n == 0.0 { f64::NAN } else { f64::INFINITY }
    } else {
        n / d
    }
}

fn fmt_num(x: f64) -> String {
    match num_json(x) {
        Json::Number(n) => n.to_string(),
        Json::String(s) => s,
        other => other.to_string(),
    }
}

/// Generic conversion: strings up to the first NUL, single numbers as
/// numbers, several values space-separated.
fn raw_value(v: &Value) -> Json {
    match v {
        Value::Ascii(parts) => Json::String(parts.first().map(|p| latin1(p)).unwrap_or_default()),
        Value::Byte(b) => nums(b),
        Value::SByte(b) => nums(b),
        Value::Short(s) => nums(s),
        Value::SShort(s) => nums(s),
        Value::Long(l) => nums(l),
        Value::SLong(l) => nums(l),
        Value::Float(f) => nums(f),
        Value::Double(d) => nums(d),
        Value::Rational(_) | Value::SRational(_) => {
            let xs: Vec<f64> = rationals(v).into_iter().map(|(n, d)| ratio(n, d)).collect();
            if xs.len() == 1 {
                num_json(xs[0])
            } else {
                Json::String(xs.iter().map(|&x| fmt_num(x)).collect::<Vec<_>>().join(" "))
            }
        }
        Value::Undefined(b, _) => {
            if b.len() <= 16 {
                join(b)
            } else {
                json!(format!("(binary data {} bytes)", b.len()))
            }
        }
        Value::Unknown(t, c, _) => json!(format!("(unknown type {t}, {c} values)")),
    }
}

/// ExifTool's tag names, which differ from the EXIF specification's in
/// places (DateTimeDigitized is CreateDate, PixelXDimension is
/// ExifImageWidth, ...).
pub(crate) fn tag_name(ctx: Context, num: u16) -> String {
    use Context::*;
    let n = match (ctx, num) {
        (Tiff, 0x00fe) => "SubfileType",
        (Tiff, 0x0100) => "ImageWidth",
        (Tiff, 0x0101) => "ImageHeight",
        (Tiff, 0x0102) => "BitsPerSample",
        (Tiff, 0x0103) => "Compression",
        (Tiff, 0x0106) => "PhotometricInterpretation",
        (Tiff, 0x010e) => "ImageDescription",
        (Tiff, 0x010f) => "Make",
        (Tiff, 0x0110) => "Model",
        (Tiff, 0x0111) => "StripOffsets",
        (Tiff, 0x0112) => "Orientation",
        (Tiff, 0x0115) => "SamplesPerPixel",
        (Tiff, 0x0116) => "RowsPerStrip",
        (Tiff, 0x0117) => "StripByteCounts",
        (Tiff, 0x011a) => "XResolution",
        (Tiff, 0x011b) => "YResolution",
        (Tiff, 0x011c) => "PlanarConfiguration",
        (Tiff, 0x0128) => "ResolutionUnit",
        (Tiff, 0x012d) => "TransferFunction",
        (Tiff, 0x0131) => "Software",
        (Tiff, 0x0132) => "ModifyDate",
        (Tiff, 0x013b) => "Artist",
        (Tiff, 0x013d) => "Predictor",
        (Tiff, 0x013e) => "WhitePoint",
        (Tiff, 0x013f) => "PrimaryChromaticities",
        (Tiff, 0x0152) => "ExtraSamples",
        (Tiff, 0x0153) => "SampleFormat",
        (Tiff, 0x0201) => "ThumbnailOffset",
        (Tiff, 0x0202) => "ThumbnailLength",
        (Tiff, 0x0211) => "YCbCrCoefficients",
        (Tiff, 0x0212) => "YCbCrSubSampling",
        (Tiff, 0x0213) => "YCbCrPositioning",
        (Tiff, 0x0214) => "ReferenceBlackWhite",
        (Tiff, 0x8298) => "Copyright",
        (Tiff, 0xc4a5) => "PrintIM",
        (Exif, 0x829a) => "ExposureTime",
        (Exif, 0x829d) => "FNumber",
        (Exif, 0x8822) => "ExposureProgram",
        (Exif, 0x8824) => "SpectralSensitivity",
        (Exif, 0x8827) => "ISO",
        (Exif, 0x8830) => "SensitivityType",
        (Exif, 0x8831) => "StandardOutputSensitivity",
        (Exif, 0x8832) => "RecommendedExposureIndex",
        (Exif, 0x9000) => "ExifVersion",
        (Exif, 0x9003) => "DateTimeOriginal",
        (Exif, 0x9004) => "CreateDate",
        (Exif, 0x9010) => "OffsetTime",
        (Exif, 0x9011) => "OffsetTimeOriginal",
        (Exif, 0x9012) => "OffsetTimeDigitized",
        (Exif, 0x9101) => "ComponentsConfiguration",
        (Exif, 0x9102) => "CompressedBitsPerPixel",
        (Exif, 0x9201) => "ShutterSpeedValue",
        (Exif, 0x9202) => "ApertureValue",
        (Exif, 0x9203) => "BrightnessValue",
        (Exif, 0x9204) => "ExposureCompensation",
        (Exif, 0x9205) => "MaxApertureValue",
        (Exif, 0x9206) => "SubjectDistance",
        (Exif, 0x9207) => "MeteringMode",
        (Exif, 0x9208) => "LightSource",
        (Exif, 0x9209) => "Flash",
        (Exif, 0x920a) => "FocalLength",
        (Exif, 0x9214) => "SubjectArea",
        (Exif, 0x9286) => "UserComment",
        (Exif, 0x9290) => "SubSecTime",
        (Exif, 0x9291) => "SubSecTimeOriginal",
        (Exif, 0x9292) => "SubSecTimeDigitized",
        (Exif, 0xa000) => "FlashpixVersion",
        (Exif, 0xa001) => "ColorSpace",
        (Exif, 0xa002) => "ExifImageWidth",
        (Exif, 0xa003) => "ExifImageHeight",
        (Exif, 0xa004) => "RelatedSoundFile",
        (Exif, 0xa20b) => "FlashEnergy",
        (Exif, 0xa20e) => "FocalPlaneXResolution",
        (Exif, 0xa20f) => "FocalPlaneYResolution",
        (Exif, 0xa210) => "FocalPlaneResolutionUnit",
        (Exif, 0xa214) => "SubjectLocation",
        (Exif, 0xa215) => "ExposureIndex",
        (Exif, 0xa217) => "SensingMethod",
        (Exif, 0xa300) => "FileSource",
        (Exif, 0xa301) => "SceneType",
        (Exif, 0xa302) => "CFAPattern",
        (Exif, 0xa401) => "CustomRendered",
        (Exif, 0xa402) => "ExposureMode",
        (Exif, 0xa403) => "WhiteBalance",
        (Exif, 0xa404) => "DigitalZoomRatio",
        (Exif, 0xa405) => "FocalLengthIn35mmFormat",
        (Exif, 0xa406) => "SceneCaptureType",
        (Exif, 0xa407) => "GainControl",
        (Exif, 0xa408) => "Contrast",
        (Exif, 0xa409) => "Saturation",
        (Exif, 0xa40a) => "Sharpness",
        (Exif, 0xa40b) => "DeviceSettingDescription",
        (Exif, 0xa40c) => "SubjectDistanceRange",
        (Exif, 0xa420) => "ImageUniqueID",
        (Exif, 0xa430) => "OwnerName",
        (Exif, 0xa431) => "SerialNumber",
        (Exif, 0xa432) => "LensInfo",
        (Exif, 0xa433) => "LensMake",
        (Exif, 0xa434) => "LensModel",
        (Exif, 0xa435) => "LensSerialNumber",
        (Exif, 0xa460) => "CompositeImage",
        (Exif, 0xa500) => "Gamma",
        (Gps, 0x00) => "GPSVersionID",
        (Gps, 0x01) => "GPSLatitudeRef",
        (Gps, 0x02) => "GPSLatitude",
        (Gps, 0x03) => "GPSLongitudeRef",
        (Gps, 0x04) => "GPSLongitude",
        (Gps, 0x05) => "GPSAltitudeRef",
        (Gps, 0x06) => "GPSAltitude",
        (Gps, 0x07) => "GPSTimeStamp",
        (Gps, 0x08) => "GPSSatellites",
        (Gps, 0x09) => "GPSStatus",
        (Gps, 0x0a) => "GPSMeasureMode",
        (Gps, 0x0b) => "GPSDOP",
        (Gps, 0x0c) => "GPSSpeedRef",
        (Gps, 0x0d) => "GPSSpeed",
        (Gps, 0x0e) => "GPSTrackRef",
        (Gps, 0x0f) => "GPSTrack",
        (Gps, 0x10) => "GPSImgDirectionRef",
        (Gps, 0x11) => "GPSImgDirection",
        (Gps, 0x12) => "GPSMapDatum",
        (Gps, 0x13) => "GPSDestLatitudeRef",
        (Gps, 0x14) => "GPSDestLatitude",
        (Gps, 0x15) => "GPSDestLongitudeRef",
        (Gps, 0x16) => "GPSDestLongitude",
        (Gps, 0x17) => "GPSDestBearingRef",
        (Gps, 0x18) => "GPSDestBearing",
        (Gps, 0x19) => "GPSDestDistanceRef",
        (Gps, 0x1a) => "GPSDestDistance",
        (Gps, 0x1b) => "GPSProcessingMethod",
        (Gps, 0x1c) => "GPSAreaInformation",
        (Gps, 0x1d) => "GPSDateStamp",
        (Gps, 0x1e) => "GPSDifferential",
        (Gps, 0x1f) => "GPSHPositioningError",
        (Interop, 0x0001) => "InteropIndex",
        (Interop, 0x0002) => "InteropVersion",
        (Interop, 0x1000) => "RelatedImageFileFormat",
        (Interop, 0x1001) => "RelatedImageWidth",
        (Interop, 0x1002) => "RelatedImageHeight",
        _ => return format!("Tag0x{num:04x}"),
    };
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gps_time_layout() {
        assert_eq!(gps_time(14.0 * 3600.0 + 45.0 * 60.0 + 20.91), "14:45:20.91");
        assert_eq!(gps_time(7.0 * 3600.0 + 30.0 * 60.0 + 14.0), "07:30:14");
        assert_eq!(gps_time(0.0), "00:00:00");
    }

    #[test]
    fn rationals_round_to_ten_digits() {
        assert_eq!(num_json(1.0 / 75.0), json!(0.01333333333));
        assert_eq!(num_json(300.0), json!(300));
        assert_eq!(num_json(f64::INFINITY), json!("inf"));
    }
}
