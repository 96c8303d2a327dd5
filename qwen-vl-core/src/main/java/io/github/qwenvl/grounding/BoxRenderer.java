package io.github.qwenvl.grounding;

import javax.imageio.ImageIO;
import java.awt.AlphaComposite;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.GraphicsEnvironment;
import java.awt.RenderingHints;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Draws grounding boxes, quads and points with their labels on a copy of an image; works headless.
 *
 * <p>Shapes are placed from {@link GroundingBox#normalized()} scaled to the image given, so the same boxes can be
 * drawn on the original or on a thumbnail. Draw only the boxes of that image ({@link GroundingResult#boxesFor}).
 * Each distinct label gets its own colour (in order of first appearance); the stroke and the font scale with the
 * image; labels sit on a filled tab kept inside the image. Text uses the logical {@link Font#DIALOG} font, which the
 * JDK maps to installed fonts, CJK ones included; if no installed font has a glyph it is drawn as a box, and if text
 * cannot be drawn at all (a JDK without fonts) the shapes are still drawn.
 */
public final class BoxRenderer {

    /** Tableau-like, distinguishable on photos; further labels get golden-angle hues. */
    private static final Color[] PALETTE = {
            new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728), new Color(0x9467bd),
            new Color(0x8c564b), new Color(0xe377c2), new Color(0x17becf), new Color(0xbcbd22), new Color(0x7f7f7f)};

    /** Draws on a copy of {@code source} (which is left untouched) and returns it. */
    public BufferedImage render(BufferedImage source, List<GroundingBox> boxes) {
        int w = source.getWidth();
        int h = source.getHeight();
        // ARGB keeps a transparent input transparent; RGB otherwise, so the PNG stays small and JPEG-writable
        int type = source.getColorModel().hasAlpha() ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB;
        BufferedImage out = new BufferedImage(w, h, type);
        Graphics2D g = out.createGraphics();
        try {
            g.setComposite(AlphaComposite.Src);
            g.drawImage(source, 0, 0, null);
            g.setComposite(AlphaComposite.SrcOver);
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            float stroke = Math.max(2f, Math.min(w, h) / 200f);
            g.setStroke(new BasicStroke(stroke, BasicStroke.CAP_SQUARE, BasicStroke.JOIN_MITER));
            Map<String, Color> colours = new HashMap<>();
            for (GroundingBox box : boxes) {
                if (box.normalized() == null) {
                    continue; // pixels of an unknown image: nowhere to put it
                }
                Color colour = colours.computeIfAbsent(box.label() == null ? "" : box.label(),
                        k -> colour(colours.size()));
                g.setColor(colour);
                Rectangle2D anchor = drawShape(g, box, w, h, stroke);
                if (box.label() != null) {
                    drawLabel(g, box.label(), colour, anchor, w, h);
                }
            }
        } finally {
            g.dispose();
        }
        return out;
    }

    /** {@link #render} encoded as PNG. */
    public byte[] renderPng(BufferedImage source, List<GroundingBox> boxes) {
        try {
            ByteArrayOutputStream png = new ByteArrayOutputStream();
            if (!ImageIO.write(render(source, boxes), "png", png)) {
                throw new IllegalStateException("No PNG writer in this JDK");
            }
            return png.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail; keep the API unchecked
        }
    }

    /** Draws the shape; returns the rectangle its label is attached to. */
    private static Rectangle2D drawShape(Graphics2D g, GroundingBox box, int w, int h, float stroke) {
        NormalizedBox n = box.normalized();
        double x1 = n.x1() * w, y1 = n.y1() * h, x2 = n.x2() * w, y2 = n.y2() * h;
        double[] quad = box.quadNormalized();
        if (box.kind() == GroundingBox.Kind.QUAD && quad != null) {
            Path2D path = new Path2D.Double();
            path.moveTo(quad[0] * w, quad[1] * h);
            for (int k = 2; k < 8; k += 2) {
                path.lineTo(quad[k] * w, quad[k + 1] * h);
            }
            path.closePath();
            g.draw(path);
        } else if (box.kind() == GroundingBox.Kind.POINT) {
            double r = Math.max(3, stroke * 2.5);
            Ellipse2D dot = new Ellipse2D.Double(x1 - r, y1 - r, 2 * r, 2 * r);
            g.fill(dot);
            Color fill = g.getColor();
            g.setColor(Color.WHITE); // a white ring keeps the dot visible on a background of its own colour
            g.setStroke(new BasicStroke(Math.max(1f, stroke / 2)));
            g.draw(dot);
            g.setColor(fill);
            g.setStroke(new BasicStroke(stroke, BasicStroke.CAP_SQUARE, BasicStroke.JOIN_MITER));
            return new Rectangle2D.Double(x1 + r, y1 - r, 0, 0);
        } else {
            // inset by half the stroke so a full-image box stays visible instead of being cut by the image edge
            double inset = stroke / 2;
            g.draw(new Rectangle2D.Double(Math.min(x1 + inset, w - inset), Math.min(y1 + inset, h - inset),
                    Math.max(0, x2 - x1 - stroke), Math.max(0, y2 - y1 - stroke)));
        }
        return new Rectangle2D.Double(x1, y1, x2 - x1, y2 - y1);
    }

    private static void drawLabel(Graphics2D g, String label, Color colour, Rectangle2D anchor, int w, int h) {
        try {
            int size = Math.max(12, Math.min(w, h) / 40);
            Font font = fontFor(label, size);
            g.setFont(font);
            FontMetrics fm = g.getFontMetrics();
            int pad = Math.max(2, size / 6);
            int tabW = Math.min(w, fm.stringWidth(label) + 2 * pad);
            int tabH = Math.min(h, fm.getAscent() + fm.getDescent() + pad);
            // above the box when there is room, otherwise just inside its top edge; always inside the image
            int x = (int) Math.max(0, Math.min(anchor.getX(), w - tabW));
            int y = (int) (anchor.getY() - tabH >= 0 ? anchor.getY() - tabH : anchor.getY());
            y = Math.max(0, Math.min(y, h - tabH));
            g.setColor(colour);
            g.fillRect(x, y, tabW, tabH);
            g.setColor(luminance(colour) > 0.6 ? Color.BLACK : Color.WHITE);
            g.drawString(label, x + pad, y + pad / 2 + fm.getAscent());
        } catch (RuntimeException | InternalError | UnsatisfiedLinkError | NoClassDefFoundError fontless) {
            // a headless JDK without fontconfig/fonts cannot draw text at all; the shapes are what matters
        }
    }

    private static final Map<Integer, String> FALLBACK_FAMILY = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Dialog normally covers CJK through the JDK's font configuration; if it cannot display this label, look once
     * for an installed family that can (Noto CJK, WenQuanYi, …). Missing glyphs are never an error.
     */
    private static Font fontFor(String label, int size) {
        Font dialog = new Font(Font.DIALOG, Font.BOLD, size);
        int missing = dialog.canDisplayUpTo(label);
        if (missing < 0) {
            return dialog;
        }
        int codePoint = label.codePointAt(missing);
        String family = FALLBACK_FAMILY.computeIfAbsent(Character.UnicodeScript.of(codePoint).ordinal(), s -> {
            for (String candidate : GraphicsEnvironment.getLocalGraphicsEnvironment().getAvailableFontFamilyNames()) {
                if (new Font(candidate, Font.PLAIN, 12).canDisplay(codePoint)) {
                    return candidate;
                }
            }
            return Font.DIALOG;
        });
        return new Font(family, Font.BOLD, size);
    }

    private static Color colour(int i) {
        if (i < PALETTE.length) {
            return PALETTE[i];
        }
        float hue = (float) ((i * 0.618033988749895) % 1.0);
        return Color.getHSBColor(hue, 0.75f, 0.9f);
    }

    private static double luminance(Color c) {
        return (0.299 * c.getRed() + 0.587 * c.getGreen() + 0.114 * c.getBlue()) / 255.0;
    }
}
