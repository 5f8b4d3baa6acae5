#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! The QR as rendered: its SVG, read back by an independent decoder (rqrr), gives a code that
//! verifies.

mod common;

use common::*;
use moralbank_code::{verify, CodeQr};

/// Paint the SVG's dark rectangles (`M{x} {y}h{w}v{h}H{x}V{y}`, as `qrcode` writes them) on a
/// bitmap, `scale` pixels per SVG unit.
fn rasterise(svg: &str, scale: usize) -> (usize, Vec<bool>) {
    let size: usize = svg
        .split("width=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|w| w.parse().ok())
        .expect("width");
    let path = svg
        .split(" d=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("path");
    let side = size * scale;
    let mut dark = vec![false; side * side];
    for rect in path.split('M').filter(|r| !r.is_empty()) {
        let numbers: Vec<usize> = rect
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().expect("number"))
            .collect();
        let [x, y, w, h, ..] = numbers[..] else {
            panic!("rect {rect}")
        };
        for py in y * scale..(y + h) * scale {
            for px in x * scale..(x + w) * scale {
                dark[py * side + px] = true;
            }
        }
    }
    (side, dark)
}

#[test]
fn the_rendered_qr_decodes_with_another_decoder_to_a_code_that_verifies() {
    let qr = CodeQr::new(VECTOR_CODE).expect("fits");
    let svg = qr.to_svg(1);
    assert!(svg.starts_with("<svg"), "ready to inline: {}", &svg[..40]);
    // 57 modules and a quiet zone of 4 on each side.
    assert!(svg.contains(r#"width="65""#), "{}", &svg[..200]);

    let (side, dark) = rasterise(&svg, 4);
    let mut image = rqrr::PreparedImage::prepare_from_bitmap(side, side, |x, y| dark[y * side + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1);
    let (meta, text) = grids[0].decode().expect("decodes");
    assert_eq!(meta.version.0, 10);
    assert_eq!(text, VECTOR_CODE);
    assert_eq!(
        verify(&text, &keys_of(&[&vector_key()]), ISSUED_AT, SKEW_S),
        Ok(vector_claims())
    );
}

#[test]
fn the_svg_scales_by_its_module_size() {
    let qr = CodeQr::new(VECTOR_CODE).expect("fits");
    assert!(qr.to_svg(8).contains(r#"width="520""#));
    assert!(
        CodeQr::new(&"A".repeat(5000)).is_err(),
        "too long for any QR"
    );
}
