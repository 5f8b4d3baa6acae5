//! The QR a phone shows or a card prints: the code's text in alphanumeric mode at
//! error-correction level M (15 % of the symbol may be lost), rendered as SVG.

use qrcode::{EcLevel, QrCode, Version};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the text does not fit in a QR code")]
pub struct QrTooLong;

pub struct CodeQr(QrCode);

impl std::fmt::Debug for CodeQr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CodeQr(version {})", self.version())
    }
}

impl CodeQr {
    /// The smallest QR at level M that holds `text`.
    pub fn new(text: &str) -> Result<CodeQr, QrTooLong> {
        QrCode::with_error_correction_level(text, EcLevel::M)
            .map(CodeQr)
            .map_err(|_| QrTooLong)
    }

    /// The QR version, 1 (21×21 modules) to 40 (177×177).
    pub fn version(&self) -> i16 {
        match self.0.version() {
            Version::Normal(v) | Version::Micro(v) => v,
        }
    }

    /// Modules per side, without the quiet zone.
    pub fn modules(&self) -> usize {
        self.0.width()
    }

    /// An SVG of the QR with its 4-module quiet zone, `module_px` units per module, black on
    /// white, ready to inline in a page.
    pub fn to_svg(&self, module_px: u32) -> String {
        let svg = self
            .0
            .render::<qrcode::render::svg::Color>()
            .quiet_zone(true)
            .module_dimensions(module_px, module_px)
            .build();
        // The XML declaration is for a standalone file; inlined in HTML it is noise.
        match svg.find("<svg") {
            Some(start) => svg[start..].to_string(),
            None => svg,
        }
    }
}
