//! Text set with the bundled font, the same in PNG and SVG.
//!
//! plotters rasterises text glyph by glyph, placing each at its rounded pen
//! position and ignoring its left side bearing, which prints "SE Ts" for
//! "SETs" and "trend ing" for "trending". [`Typeset`] wraps a backend and, for
//! bitmaps, lays text out itself: subpixel pen positions with kerning, each
//! glyph at its own bounds, the baseline from the font's ascent and descent.
//! SVG keeps `<text>` elements (searchable, selectable) that name the bundled
//! font's family, and [`embed_font`] puts the font itself in the file with
//! `@font-face`, so a browser draws the same letters as the PNG.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use plotters::prelude::DrawingBackend;
use plotters::style::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

use super::{FONT, FONT_BYTES};

fn font() -> &'static FontRef<'static> {
    static FONT_REF: OnceLock<FontRef<'static>> = OnceLock::new();
    FONT_REF.get_or_init(|| {
        FontRef::try_from_slice(FONT_BYTES).expect("the bundled font is a valid TrueType file")
    })
}

/// Width and height in pixels of `text` at `size` pixels (the height of the
/// font's line box, ascent to descent, as plotters sizes fonts).
pub fn text_size(text: &str, size: f64) -> (f64, f64) {
    let font = font().as_scaled(PxScale::from(size as f32));
    let mut width = 0.0f32;
    let mut prev = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = prev {
            width += font.kern(p, id);
        }
        width += font.h_advance(id);
        prev = Some(id);
    }
    (width as f64, (font.ascent() - font.descent()) as f64)
}

/// A drawing backend whose bitmap text is laid out by [`text_size`]'s rules
/// (see the module doc); everything else goes to the wrapped backend as is.
pub struct Typeset<DB> {
    inner: DB,
    /// Rasterise text here (bitmaps) rather than hand it to the backend (SVG).
    raster: bool,
}

impl<DB> Typeset<DB> {
    /// Wraps `inner`; `raster`: draw text as pixels here (for bitmap backends).
    pub fn new(inner: DB, raster: bool) -> Self {
        Typeset { inner, raster }
    }
}

impl<DB: DrawingBackend> DrawingBackend for Typeset<DB> {
    type ErrorType = DB::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let (w, h) = text_size(text, style.size());
        Ok((w.ceil() as u32, h.ceil() as u32))
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if !self.raster {
            return self.inner.draw_text(text, style, pos);
        }
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let size = style.size();
        let scale = PxScale::from(size as f32);
        let font = font().as_scaled(scale);
        let (width, height) = text_size(text, size);
        let anchor = style.anchor();
        let left = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let top = match anchor.v_pos {
            VPos::Top => 0.0,
            VPos::Center => -height / 2.0,
            VPos::Bottom => -height,
        };
        let baseline = top as f32 + font.ascent();
        let transform = style.transform();
        let (w, h) = self.inner.get_size();
        let mut pen = left as f32;
        let mut prev = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                pen += font.kern(p, id);
            }
            prev = Some(id);
            let glyph = id.with_scale_and_position(scale, point(pen, baseline));
            pen += font.h_advance(id);
            let Some(outline) = font.outline_glyph(glyph) else {
                continue; // a space
            };
            let bounds = outline.px_bounds();
            let mut pixels = Vec::new();
            outline.draw(|x, y, coverage| {
                if coverage > 0.0 {
                    pixels.push((
                        bounds.min.x as i32 + x as i32,
                        bounds.min.y as i32 + y as i32,
                        coverage,
                    ));
                }
            });
            for (x, y, coverage) in pixels {
                let (x, y) = transform.transform(x, y);
                let (x, y) = (pos.0 + x, pos.1 + y);
                if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
                    self.inner.draw_pixel(
                        (x, y),
                        BackendColor {
                            alpha: color.alpha * f64::from(coverage.min(1.0)),
                            rgb: color.rgb,
                        },
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// `svg` with the bundled font embedded as `@font-face` for the family its
/// `<text>` elements name, so that every viewer draws the PNG's letters.
pub fn embed_font(svg: &str) -> String {
    let Some(open) = svg.find("<svg") else {
        return svg.to_string();
    };
    let Some(end) = svg[open..].find('>') else {
        return svg.to_string();
    };
    let at = open + end + 1;
    format!(
        "{}\n<defs><style>{}</style></defs>{}",
        &svg[..at],
        font_face_css(),
        &svg[at..]
    )
}

/// The CSS that [`embed_font`] puts in every SVG: the bundled font as
/// `@font-face` for the family chart text names (encoded once per process).
fn font_face_css() -> &'static str {
    static CSS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CSS.get_or_init(|| {
        format!(
            "@font-face{{font-family:\"{FONT}\";src:url({}) format(\"truetype\");}} text{{font-family:\"{FONT}\",sans-serif;}}",
            font_data_url()
        )
    })
}

/// `svg` without the font [`embed_font`] put in it: for a page that holds
/// several charts inline and declares the font once.
///
/// The block sits right after the `<svg ...>` tag, where [`embed_font`] put
/// it: found by a short prefix and compared whole, not searched for as a
/// megabyte-long pattern.
pub fn strip_font(svg: &str) -> String {
    const OPEN: &str = "\n<defs><style>@font-face";
    let css = font_face_css();
    let block_len = "\n<defs><style>".len() + css.len() + "</style></defs>".len();
    if let Some(at) = svg.find(OPEN)
        && let Some(block) = svg.get(at..at + block_len)
        && block
            .strip_prefix("\n<defs><style>")
            .and_then(|b| b.strip_prefix(css))
            == Some("</style></defs>")
    {
        return format!("{}{}", &svg[..at], &svg[at + block_len..]);
    }
    svg.to_string()
}

/// The bundled font as a `data:` URL (base64), for `@font-face`.
pub fn font_data_url() -> String {
    format!("data:font/ttf;base64,{}", base64(FONT_BYTES))
}

/// Standard base64 with padding (RFC 4648 §4).
fn base64(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(DIGITS[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_examples() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }

    #[test]
    fn text_is_as_wide_as_its_advances_and_wider_with_more_letters() {
        let (w1, h) = text_size("SET", 16.0);
        let (w2, _) = text_size("SETs", 16.0);
        assert!(w2 > w1 && w1 > 16.0, "{w1} {w2}");
        assert!((h - 16.0).abs() < 0.5, "line box height {h}");
    }
}
