//! A tiny 5×7 bitmap font for the contact sheet's time labels: digits and
//! the few signs a time needs. Drawn by hand for this project.

/// Glyph rows, top to bottom; bit 4 is the leftmost column.
fn glyph(c: char) -> Option<[u8; 7]> {
    Some(match c {
        '0' => [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e],
        '1' => [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
        '2' => [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f],
        '3' => [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
        '4' => [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02],
        '5' => [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
        '6' => [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e],
        '7' => [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e],
        '9' => [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
        ':' => [0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c],
        '-' => [0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00],
        ' ' => [0; 7],
        _ => return None,
    })
}

/// Width of one character cell at `scale`, spacing included.
pub fn advance(scale: u32) -> u32 {
    6 * scale
}

/// Height of a line at `scale`.
pub fn line_height(scale: u32) -> u32 {
    7 * scale
}

/// Draw `text` with its top-left corner at `(x, y)`; characters the font
/// lacks are drawn as blanks, pixels outside the image are skipped.
pub fn draw_text(img: &mut image::RgbImage, x: u32, y: u32, text: &str, scale: u32, ink: [u8; 3]) {
    for (i, c) in text.chars().enumerate() {
        let Some(rows) = glyph(c) else { continue };
        let cx = x + i as u32 * advance(scale);
        for (ry, bits) in rows.iter().enumerate() {
            for rx in 0..5u32 {
                if bits & (0x10 >> rx) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let (px, py) = (cx + rx * scale + dx, y + ry as u32 * scale + dy);
                        if px < img.width() && py < img.height() {
                            img.put_pixel(px, py, image::Rgb(ink));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_time_character_has_a_glyph() {
        for c in "0123456789:.- ".chars() {
            assert!(glyph(c).is_some(), "{c}");
        }
        // Distinct digits look distinct.
        let digits: Vec<_> = "0123456789".chars().filter_map(glyph).collect();
        for (i, a) in digits.iter().enumerate() {
            for b in &digits[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn draws_inside_and_clips_outside() {
        let mut img = image::RgbImage::new(20, 10);
        draw_text(&mut img, 0, 0, "1", 1, [255, 255, 255]);
        // '1' has its stem in column 2.
        assert_eq!(img.get_pixel(2, 3).0, [255, 255, 255]);
        assert_eq!(img.get_pixel(0, 3).0, [0, 0, 0]);
        // Partly off the image: no panic.
        draw_text(&mut img, 15, 5, "88", 2, [255, 0, 0]);
        assert_eq!(img.get_pixel(17, 5).0, [255, 0, 0]);
    }
}
