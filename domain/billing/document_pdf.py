"""The bill as an A4 PDF (reportlab): the tenant's branding, the customer's language and formats."""
from __future__ import annotations

import io
import logging
import unicodedata
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.graphics.barcode import qrencoder
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Frame,
    KeepInFrame,
    KeepTogether,
    NextPageTemplate,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from domain.billing.document_data import BillDocument, PodConsumption, gas_conversion_text
from domain.billing.epc_qr import epc_payload, format_iban, is_valid_iban
from domain.i18n import format_date, format_money, format_number, format_rate, format_unit_price

log = logging.getLogger(__name__)

PAGE_W, PAGE_H = A4
MARGIN = 18 * mm
CONTENT_W = PAGE_W - 2 * MARGIN
FIRST_FRAME_TOP = 93 * mm  # below the header and the address window
LATER_FRAME_TOP = 22 * mm
BOTTOM = 20 * mm
# Window envelope (C5/C6 with a right-hand window, DL folded in three): where the address must sit.
WINDOW_X, WINDOW_TOP, WINDOW_W, WINDOW_H = 110 * mm, 48 * mm, 85 * mm, 38 * mm

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#5f6b7a")
RULE = colors.HexColor("#d5dbe3")
ZEBRA = colors.HexColor("#f4f6f8")
FONT, BOLD = "Helvetica", "Helvetica-Bold"

# Helvetica (a standard PDF font) covers Windows-1252: é ü ñ € are fine, but babel's narrow
# no-break space and a few typographic characters are not; they get their nearest cover.
_SUBSTITUTES = str.maketrans({"\u202f": "\u00a0", "\u2009": " ", "\u2007": "\u00a0", "\u2212": "-",
                              "\u2011": "-", "\u2010": "-", "\u200b": ""})


def pdf_text(text: str) -> str:
    """Text as Helvetica can show it (characters outside Windows-1252 replaced by their base letter)."""
    text = (text or "").translate(_SUBSTITUTES)
    out = []
    for ch in text:
        try:
            ch.encode("cp1252")
            out.append(ch)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", ch).encode("cp1252", "ignore").decode("cp1252")
            out.append(base or "?")
    return "".join(out)


def _x(text: str) -> str:
    """Escaped for a Paragraph's mini-markup."""
    return escape(pdf_text(text))


def document_title(kind: str, _: Callable[[str], str]) -> str:
    titles = {
        "periodic": _("Bill"),
        "final": _("Final bill"),
        "corrective": _("Corrective bill"),
        "credit_note": _("Credit note"),
        "instalment": _("Instalment notice"),
        "true_up": _("Annual true-up bill"),
    }
    return titles.get(kind, _("Bill"))


def qr_payload_for(doc: BillDocument) -> str | None:
    """The EPC QR payload printed on this bill, or None when no QR code is drawn.

    Drawn only for an amount to pay by transfer in euros to a valid configured IBAN.
    """
    tenant = doc.tenant
    if doc.is_credit or doc.total_incl_tax <= 0 or doc.payment_method == "direct_debit":
        return None
    if not tenant.iban or not is_valid_iban(tenant.iban):
        return None
    try:
        # The beneficiary of a transfer is the account holder: the utility's legal name where it has one.
        return epc_payload(bic=tenant.bic, name=tenant.legal_name or tenant.name, iban=tenant.iban,
                           amount=doc.total_incl_tax, currency=doc.currency, reference=doc.bill_number)
    except ValueError as exc:
        log.error("bill document: no EPC QR code bill=%s error=%s", doc.bill_number, exc)
        return None


class _Utf8Eci(qrencoder.QR):
    """ECI segment 26 (UTF-8) put before the payload, so a reader does not guess another encoding for "é"."""

    mode = 0x7
    bits = (8,)
    lengthbits = (0, 0, 0)

    def __init__(self):
        self.data = [26]

    def write(self, buffer, version):
        buffer.put(self.mode, 4)
        buffer.put(26, 8)


def _qr_segments(payload: str) -> list:
    segment = qrencoder.QR8bitByte(payload)
    return [segment] if payload.isascii() else [_Utf8Eci(), segment]


# --- colours and styles -----------------------------------------------------------------------


def _brand(doc: BillDocument) -> colors.Color:
    try:
        return colors.HexColor(doc.tenant.primary_colour)
    except (ValueError, TypeError):
        return colors.HexColor("#0b5cad")


def _luminance(colour: colors.Color) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.red) + 0.7152 * channel(colour.green) + 0.0722 * channel(colour.blue)


def _on(colour: colors.Color) -> colors.Color:
    """White or ink, whichever reads better on the brand colour (a yellow brand gets dark text)."""
    return colors.white if _luminance(colour) < 0.42 else INK


def _text_brand(colour: colors.Color) -> colors.Color:
    """The brand colour for text on white, darkened until it has enough contrast."""
    c = colour
    while _luminance(c) > 0.18:
        c = colors.Color(c.red * 0.85, c.green * 0.85, c.blue * 0.85)
    return c


def _tint(colour: colors.Color, share: float) -> colors.Color:
    return colors.Color(1 - (1 - colour.red) * share, 1 - (1 - colour.green) * share, 1 - (1 - colour.blue) * share)


class _Styles:
    def __init__(self, brand: colors.Color):
        heading_colour = _text_brand(brand)
        base = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12, textColor=INK)
        self.body = base
        self.small = ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5, textColor=MUTED)
        self.small_right = ParagraphStyle("small_right", parent=self.small, alignment=TA_RIGHT)
        self.cell = ParagraphStyle("cell", parent=base, fontSize=8.5, leading=10.5)
        self.cell_right = ParagraphStyle("cell_right", parent=self.cell, alignment=TA_RIGHT)
        self.cell_bold = ParagraphStyle("cell_bold", parent=self.cell, fontName=BOLD)
        self.cell_bold_right = ParagraphStyle("cell_bold_right", parent=self.cell_bold, alignment=TA_RIGHT)
        self.head = ParagraphStyle("head", parent=self.cell, fontName=BOLD, textColor=_on(brand))
        self.head_right = ParagraphStyle("head_right", parent=self.head, alignment=TA_RIGHT)
        self.h2 = ParagraphStyle("h2", parent=base, fontName=BOLD, fontSize=11.5, leading=14,
                                 textColor=heading_colour, spaceBefore=12, spaceAfter=5)
        self.h3 = ParagraphStyle("h3", parent=base, fontName=BOLD, fontSize=9, leading=12, spaceAfter=3)
        self.tenant = ParagraphStyle("tenant", parent=base, fontName=BOLD, fontSize=13, leading=15.5)
        self.title = ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=20, leading=23,
                                    textColor=heading_colour, alignment=TA_RIGHT)
        self.title_sub = ParagraphStyle("title_sub", parent=base, fontSize=10, leading=13, alignment=TA_RIGHT)
        self.address = ParagraphStyle("address", parent=base, fontSize=10.5, leading=13.5)
        self.address_name = ParagraphStyle("address_name", parent=self.address, fontName=BOLD)
        self.due_label = ParagraphStyle("due_label", parent=base, fontSize=10, leading=13)
        self.due_amount = ParagraphStyle("due_amount", parent=base, fontName=BOLD, fontSize=22, leading=26,
                                         textColor=heading_colour)
        self.due_text = ParagraphStyle("due_text", parent=base, fontSize=10, leading=13.5)


# --- formatting shortcuts ---------------------------------------------------------------------


class _Fmt:
    def __init__(self, doc: BillDocument):
        self.locale = doc.locale
        self.currency = doc.currency

    def money(self, amount: Decimal) -> str:
        return format_money(amount, self.currency, self.locale)

    def price(self, amount: Decimal) -> str:
        return format_unit_price(amount, self.currency, self.locale)

    def date(self, day: date | None, form: str = "long") -> str:
        return format_date(day, self.locale, form) if day else ""

    def number(self, value: Decimal) -> str:
        return format_number(value, self.locale)

    def quantity(self, value: Decimal | None, unit: str) -> str:
        if value is None:
            return ""
        return f"{self.number(value)}\u00a0{unit}" if unit else self.number(value)

    def rate(self, value: Decimal) -> str:
        return format_rate(value, self.locale)


# --- page furniture (drawn on the canvas) -----------------------------------------------------


def _draw_flowables(canvas: Canvas, flowables: list, x: float, top: float, width: float, height: float) -> None:
    """Draw flowables in a box whose top edge is `top` points from the top of the page; shrink to fit."""
    box = KeepInFrame(width, height, flowables, mode="shrink")
    _w, h = box.wrapOn(canvas, width, height)
    box.drawOn(canvas, x, PAGE_H - top - h)


def _draw_logo(canvas: Canvas, doc: BillDocument, brand: colors.Color, x: float, top: float,
               max_w: float, max_h: float) -> float:
    """The tenant's logo, or a badge with its initials; returns the width used."""
    if doc.tenant.logo:
        try:
            image = ImageReader(io.BytesIO(doc.tenant.logo))
            iw, ih = image.getSize()
            scale = min(max_w / iw, max_h / ih)
            w, h = iw * scale, ih * scale
            canvas.drawImage(image, x, PAGE_H - top - h, width=w, height=h, mask="auto")
            return w
        except Exception as exc:  # noqa: BLE001 - a broken logo must not stop the bill
            log.warning("bill document: logo not drawable bill=%s error=%s", doc.bill_number, exc)
    size = 14 * mm
    initials = "".join(word[0] for word in doc.tenant.name.split()[:2]).upper() or "?"
    canvas.setFillColor(brand)
    canvas.roundRect(x, PAGE_H - top - size, size, size, 2.5 * mm, stroke=0, fill=1)
    canvas.setFillColor(_on(brand))
    canvas.setFont(BOLD, 15)
    canvas.drawCentredString(x + size / 2, PAGE_H - top - size / 2 - 5.2, pdf_text(initials))
    return size


def _tenant_contact_lines(doc: BillDocument) -> list[str]:
    tenant = doc.tenant
    lines = list(tenant.address_lines)
    phone = f"{tenant.support_phone} ({tenant.support_hours})" if tenant.support_phone and tenant.support_hours \
        else tenant.support_phone
    contact = [c for c in (phone, tenant.support_email, tenant.website) if c]
    if contact:
        lines.append(" · ".join(contact))
    return lines


def _first_page(doc: BillDocument, _: Callable[[str], str], styles: _Styles, brand: colors.Color, fmt: _Fmt):
    title = document_title(doc.kind, _)

    def draw(canvas: Canvas, _template) -> None:
        canvas.saveState()
        canvas.setFillColor(brand)
        canvas.rect(0, PAGE_H - 5 * mm, PAGE_W, 5 * mm, stroke=0, fill=1)

        # Sender: logo, name and contact details, top left.
        logo_w = _draw_logo(canvas, doc, brand, MARGIN, 13 * mm, 38 * mm, 16 * mm)
        left = MARGIN + logo_w + 4 * mm
        sender = [Paragraph(_x(doc.tenant.name), styles.tenant)]
        sender += [Paragraph(_x(line), styles.small) for line in _tenant_contact_lines(doc)]
        _draw_flowables(canvas, sender, left, 13 * mm, 106 * mm - left, 31 * mm)

        # Document title and number, top right.
        heading = [Paragraph(_x(title), styles.title),
                   Paragraph(_x(_("No. %(number)s") % {"number": doc.bill_number}), styles.title_sub)]
        _draw_flowables(canvas, heading, 122 * mm, 13 * mm, PAGE_W - MARGIN - 122 * mm, 24 * mm)

        # Reference block, left of the address window.
        rows = [
            (_("Credit note number") if doc.kind == "credit_note" else _("Bill number"), doc.bill_number),
            (_("Issue date"), fmt.date(doc.issue_date)),
            (_("Customer number"), doc.account_number),
            *([(_("Activation code"), doc.activation_code)] if doc.activation_code else []),
            (_("Billing period"), _("%(start)s to %(end)s") % {
                "start": fmt.date(doc.period_start, "medium"), "end": fmt.date(doc.period_last_day, "medium")}),
        ]
        if doc.corrects_bill_number:
            rows.append((_("Corrects bill"), doc.corrects_bill_number))
        table = Table(
            [[Paragraph(_x(label), styles.small), Paragraph(_x(value), styles.cell)] for label, value in rows],
            colWidths=[30 * mm, WINDOW_X - MARGIN - 36 * mm],
        )
        table.setStyle(TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 4),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ]))
        _draw_flowables(canvas, [table], MARGIN, WINDOW_TOP + 5 * mm, WINDOW_X - MARGIN - 6 * mm, WINDOW_H)

        # Recipient, in the envelope window.
        return_line = " · ".join([doc.tenant.name, *doc.tenant.address_lines[:2]])
        recipient = [Paragraph(_x(return_line), styles.small), Spacer(1, 2.5 * mm)]
        recipient.append(Paragraph(_x(doc.customer_address[0] if doc.customer_address else doc.customer_name),
                                   styles.address_name))
        recipient += [Paragraph(_x(line), styles.address) for line in doc.customer_address[1:]]
        _draw_flowables(canvas, recipient, WINDOW_X + 4 * mm, WINDOW_TOP, WINDOW_W - 8 * mm, WINDOW_H)
        canvas.restoreState()

    return draw


def _later_pages(doc: BillDocument, _: Callable[[str], str], brand: colors.Color):
    title = document_title(doc.kind, _)

    def draw(canvas: Canvas, _template) -> None:
        canvas.saveState()
        canvas.setFillColor(brand)
        canvas.rect(0, PAGE_H - 3 * mm, PAGE_W, 3 * mm, stroke=0, fill=1)
        canvas.setFillColor(INK)
        canvas.setFont(BOLD, 9.5)
        name = pdf_text(doc.tenant.name)
        while canvas.stringWidth(name, BOLD, 9.5) > CONTENT_W / 2 and len(name) > 4:
            name = name[:-4] + "..."
        canvas.drawString(MARGIN, PAGE_H - 12 * mm, name)
        canvas.setFont(FONT, 9)
        canvas.drawRightString(PAGE_W - MARGIN, PAGE_H - 12 * mm,
                               pdf_text(f"{title} {_('No. %(number)s') % {'number': doc.bill_number}}"))
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.6)
        canvas.line(MARGIN, PAGE_H - 15 * mm, PAGE_W - MARGIN, PAGE_H - 15 * mm)
        canvas.restoreState()

    return draw


def _numbered_canvas(doc: BillDocument, _: Callable[[str], str]):
    """A canvas that writes the footer once the number of pages is known ("Page 2 of 3")."""
    footer_left = " · ".join(c for c in (doc.tenant.name, doc.tenant.support_phone, doc.tenant.support_email) if c)

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._footer(number, total)
                super().showPage()
            super().save()

        def _footer(self, number: int, total: int) -> None:
            self.saveState()
            self.setStrokeColor(RULE)
            self.setLineWidth(0.6)
            self.line(MARGIN, 14 * mm, PAGE_W - MARGIN, 14 * mm)
            self.setFillColor(MUTED)
            self.setFont(FONT, 7.5)
            left = pdf_text(footer_left)
            while self.stringWidth(left, FONT, 7.5) > CONTENT_W - 40 * mm and len(left) > 4:
                left = left[:-4] + "..."
            self.drawString(MARGIN, 10 * mm, left)
            self.drawRightString(PAGE_W - MARGIN, 10 * mm,
                                 pdf_text(_("Page %(page)d of %(pages)d") % {"page": number, "pages": total}))
            self.restoreState()

    return NumberedCanvas


# --- story sections ---------------------------------------------------------------------------


def _amount_box(doc: BillDocument, _, styles: _Styles, brand: colors.Color, fmt: _Fmt):
    total = doc.total_incl_tax
    if doc.is_credit:
        label = _("Amount in your favour")
        amount = fmt.money(total)
        text = _("Nothing to pay. This amount will be refunded to you or deducted from your next bill.")
    elif total == 0:
        label = _("Amount due")
        amount = fmt.money(total)
        text = _("Nothing to pay.")
    elif doc.payment_method == "direct_debit":
        label = _("Amount due")
        amount = fmt.money(total)
        text = (_("Will be debited from your bank account on or after %(date)s.") % {"date": fmt.date(doc.due_date)}
                if doc.due_date else _("Will be debited from your bank account."))
    else:
        label = _("Amount due")
        amount = fmt.money(total)
        text = (_("To be paid by %(date)s") % {"date": fmt.date(doc.due_date)}
                if doc.due_date else _("To be paid on receipt"))
    left = [Paragraph(_x(label), styles.due_label), Paragraph(_x(amount), styles.due_amount)]
    right = [Paragraph(_x(text), ParagraphStyle("due_bold", parent=styles.due_text, fontName=BOLD))]
    if not doc.is_credit and total > 0 and doc.payment_method != "direct_debit":
        right.append(Spacer(1, 1.5 * mm))
        right.append(Paragraph(_x(_("Reference to quote with your payment: %(reference)s") % {
            "reference": doc.bill_number}), styles.small))
    if doc.corrects_bill_number:
        right.append(Paragraph(_x(_("This document corrects bill %(number)s.") % {
            "number": doc.corrects_bill_number}), styles.small))
    box = Table([[left, right]], colWidths=[70 * mm, CONTENT_W - 70 * mm])
    box.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, -1), _tint(brand, 0.09)),
        ("LINEBEFORE", (0, 0), (0, 0), 3.5, brand),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 10),
        ("RIGHTPADDING", (0, 0), (-1, -1), 10),
        ("TOPPADDING", (0, 0), (-1, -1), 8),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 9),
    ]))
    return box


def _heading(text: str, styles: _Styles):
    return Paragraph(_x(text), styles.h2)


def _basis_heads(doc: BillDocument, _) -> tuple[str, str]:
    """Column heads of the unit price and the amount, saying whether they include VAT."""
    if doc.vat_basis == "incl":
        return _("Unit price incl. VAT"), _("Amount incl. VAT")
    if doc.vat_basis in ("mixed", "none"):
        return _("Unit price"), _("Amount")
    return _("Unit price excl. VAT"), _("Amount excl. VAT")


def _lines_table(doc: BillDocument, _, styles: _Styles, brand: colors.Color, fmt: _Fmt):
    price_head, amount_head = _basis_heads(doc, _)
    header = [Paragraph(_x(_("Description")), styles.head),
              Paragraph(_x(_("Quantity")), styles.head_right),
              Paragraph(_x(price_head), styles.head_right),
              Paragraph(_x(_("VAT")), styles.head_right),
              Paragraph(_x(amount_head), styles.head_right)]
    rows = [header]
    for line in doc.lines:
        description = [Paragraph(_x(line.description), styles.cell)]
        if line.detail:
            description.append(Paragraph(_x(line.detail), styles.small))
        if line.period_start and line.period_end and (line.period_start, line.period_end) != (
                doc.period_start, doc.period_end):
            description.append(Paragraph(_x(_("%(start)s to %(end)s") % {
                "start": fmt.date(line.period_start, "medium"),
                "end": fmt.date(line.period_end - timedelta(days=1), "medium")}), styles.small))
        amount = [Paragraph(_x(fmt.money(line.amount_shown)), styles.cell_right)]
        if doc.vat_basis == "mixed":
            amount.append(Paragraph(_x(_("incl. VAT") if line.includes_tax else _("excl. VAT")), styles.small_right))
        rows.append([
            description,
            Paragraph(_x(fmt.quantity(line.quantity, line.unit)), styles.cell_right),
            Paragraph(_x(line.unit_price_text or fmt.price(line.unit_price)), styles.cell_right),
            Paragraph(_x("" if doc.vat_basis == "none" else fmt.rate(line.tax_rate)), styles.cell_right),
            amount,
        ])
    if len(rows) == 1:
        rows.append([Paragraph(_x(_("No line on this bill.")), styles.cell), "", "", "", ""])
    widths = [CONTENT_W - 110 * mm, 26 * mm, 34 * mm, 18 * mm, 32 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = [
        ("BACKGROUND", (0, 0), (-1, 0), brand),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 5),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("LINEBELOW", (0, 1), (-1, -1), 0.4, RULE),
    ]
    for index in range(2, len(rows), 2):
        style.append(("BACKGROUND", (0, index), (-1, index), ZEBRA))
    table.setStyle(TableStyle(style))
    return table


def _balance_label(doc: BillDocument, _) -> str:
    if doc.total_incl_tax > 0:
        return _("Amount to pay")
    if doc.total_incl_tax < 0:
        return _("Amount to be refunded to you")
    return _("Nothing to pay")


def _totals_table(doc: BillDocument, _, styles: _Styles, brand: colors.Color, fmt: _Fmt):
    if doc.vat_basis == "none":  # an instalment notice: the amount asked on account, no VAT rows
        grand = ParagraphStyle("grand", parent=styles.cell_bold, fontSize=10, leading=13)
        table = Table([[Paragraph(_x(_("Amount due")), grand),
                        Paragraph(_x(fmt.money(doc.total_incl_tax)), ParagraphStyle(
                            "grand_right", parent=grand, alignment=TA_RIGHT))]],
                      colWidths=[66 * mm, 40 * mm], hAlign="RIGHT")
        table.setStyle(TableStyle([
            ("BACKGROUND", (0, 0), (-1, -1), _tint(brand, 0.12)),
            ("LINEABOVE", (0, 0), (-1, 0), 1, brand),
            ("TOPPADDING", (0, 0), (-1, -1), 5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
        ]))
        return table
    rows = [["", Paragraph(_x(_("Excl. VAT")), styles.small_right), Paragraph(_x(_("VAT")), styles.small_right),
             Paragraph(_x(_("Incl. VAT")), styles.small_right)]]
    for item in doc.tax_totals:
        rows.append([
            Paragraph(_x(_("Subtotal at VAT rate %(rate)s") % {"rate": fmt.rate(item.rate)}), styles.cell),
            Paragraph(_x(fmt.money(item.base)), styles.cell_right),
            Paragraph(_x(fmt.money(item.tax)), styles.cell_right),
            Paragraph(_x(fmt.money(item.total)), styles.cell_right),
        ])
    first_total = len(rows)
    rows.append([Paragraph(_x(_("Total excl. VAT")), styles.cell), "", "",
                 Paragraph(_x(fmt.money(doc.total_excl_tax)), styles.cell_right)])
    rows.append([Paragraph(_x(_("Total VAT")), styles.cell), "", "",
                 Paragraph(_x(fmt.money(doc.total_tax)), styles.cell_right)])
    grand = ParagraphStyle("grand", parent=styles.cell_bold, fontSize=10, leading=13)
    grand_right = ParagraphStyle("grand_right", parent=grand, alignment=TA_RIGHT)
    spans = [first_total, first_total + 1]
    rules = [("LINEABOVE", (0, first_total), (-1, first_total), 0.6, RULE)]
    if not doc.deductions:
        rows.append([Paragraph(_x(_("Total incl. VAT")), grand), "", "",
                     Paragraph(_x(fmt.money(doc.total_incl_tax)), grand_right)])
    else:
        # A true-up: the consumption's gross total, then the instalments already billed, deducted at their gross
        # amount (payments on account, no VAT of their own), then what is left to pay or to refund.
        rows.append([Paragraph(_x(_("Total incl. VAT")), styles.cell_bold), "", "",
                     Paragraph(_x(fmt.money(doc.gross_total)), styles.cell_bold_right)])
        spans.append(len(rows) - 1)
        rules.append(("LINEABOVE", (0, len(rows)), (-1, len(rows)), 0.6, RULE))
        for item in doc.deductions:
            label = item.description
            if item.period_start and item.period_end:
                label = _("%(name)s, %(start)s to %(end)s") % {
                    "name": item.description, "start": fmt.date(item.period_start, "medium"),
                    "end": fmt.date(item.period_end - timedelta(days=1), "medium")}
            rows.append([Paragraph(_x(label), styles.cell), "", "",
                         Paragraph(_x(fmt.money(-item.amount)), styles.cell_right)])
            spans.append(len(rows) - 1)
        rules.append(("LINEABOVE", (0, len(rows)), (-1, len(rows)), 0.6, RULE))
        rows.append([Paragraph(_x(_("Instalments deducted")), styles.cell), "", "",
                     Paragraph(_x(fmt.money(-doc.deducted)), styles.cell_right)])
        spans.append(len(rows) - 1)
        rows.append([Paragraph(_x(_balance_label(doc, _)), grand), "", "",
                     Paragraph(_x(fmt.money(abs(doc.total_incl_tax))), grand_right)])
    last = len(rows) - 1
    spans.append(last)
    width = 150 * mm
    table = Table(rows, colWidths=[width - 84 * mm, 28 * mm, 28 * mm, 28 * mm], hAlign="RIGHT")
    table.setStyle(TableStyle([
        ("FONTSIZE", (0, 0), (-1, -1), 6),  # the empty cells must not be taller than the text ones
        ("LEADING", (0, 0), (-1, -1), 7),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 5),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        *rules,
        *[("SPAN", (0, row), (2, row)) for row in spans],
        ("BACKGROUND", (0, last), (-1, last), _tint(brand, 0.12)),
        ("LINEABOVE", (0, last), (-1, last), 1, brand),
        ("TOPPADDING", (0, last), (-1, last), 5),
        ("BOTTOMPADDING", (0, last), (-1, last), 5),
    ]))
    return table


def _reading_cell(value, day, estimated, _, styles: _Styles, fmt: _Fmt):
    if value is None:
        return [Paragraph(_x(_("No reading")), styles.small)]
    state = _("estimated reading") if estimated else _("actual reading")
    return [Paragraph(_x(fmt.number(value)), styles.cell_bold),
            Paragraph(_x(f"{fmt.date(day, 'medium')} ({state})"), styles.small)]


def _consumption_block(pod: PodConsumption, _, styles: _Styles, fmt: _Fmt):
    parts = [Paragraph(_x(f"{pod.activity} · {_('Point of delivery')} {pod.identifier}"), styles.h3)]
    if pod.supply_address:
        parts.append(Paragraph(_x(pod.supply_address), styles.small))
        parts.append(Spacer(1, 2 * mm))
    if pod.readings:
        rows = [[Paragraph(_x(_("Meter")), styles.small), Paragraph(_x(_("Previous reading")), styles.small),
                 Paragraph(_x(_("Current reading")), styles.small),
                 Paragraph(_x(_("Consumption")), styles.small_right)]]
        for reading in pod.readings:
            meter = [Paragraph(_x(reading.meter_serial or ""), styles.cell)]
            if reading.register:
                meter.append(Paragraph(_x(reading.register), styles.small))
            rows.append([
                meter,
                _reading_cell(reading.start_value, reading.start_date, reading.start_estimated, _, styles, fmt),
                _reading_cell(reading.end_value, reading.end_date, reading.end_estimated, _, styles, fmt),
                Paragraph(_x(fmt.quantity(reading.quantity, pod.unit)), styles.cell_right),
            ])
        table = Table(rows, colWidths=[40 * mm, 48 * mm, 48 * mm, CONTENT_W - 136 * mm])
        table.setStyle(TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 5),
            ("RIGHTPADDING", (0, 0), (-1, -1), 5),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("LINEBELOW", (0, 0), (-1, 0), 0.6, RULE),
            ("LINEBELOW", (0, -1), (-1, -1), 0.6, RULE),
        ]))
        parts.append(table)
        parts.append(Spacer(1, 2 * mm))
    if pod.quantity is not None:
        basis = _("based on an estimate") if pod.estimated else _("based on actual readings")
        parts.append(Paragraph(
            _x(_("Consumption measured: %(quantity)s") % {"quantity": fmt.quantity(pod.quantity, pod.unit)})
            + f" <font color='#5f6b7a'>({_x(basis)})</font>", styles.body))
    if pod.conversion is not None:
        parts.append(Paragraph(_x(gas_conversion_text(pod.conversion, pod.unit, fmt.locale)), styles.body))
    elif pod.estimated:
        parts.append(Paragraph(_x(_("No meter reading for this period: the consumption is estimated.")),
                               styles.body))
    return KeepTogether(parts)


def _comparison_table(doc: BillDocument, _, styles: _Styles, brand: colors.Color, fmt: _Fmt):
    value_w = 42 * mm
    bar_w = value_w - 10
    rows = [[Paragraph(_x(_("Point of delivery")), styles.small),
             Paragraph(_x(_("Same period last year")), styles.small),
             Paragraph(_x(_("This period")), styles.small),
             Paragraph(_x(_("Difference")), styles.small_right)]]
    for item in doc.comparisons:
        last = item.last_year
        top = max(item.this_year, last or Decimal("0"), Decimal("0.001"))
        change = ""
        if last is None:
            last_cell = [Paragraph(_x(_("not available")), styles.cell)]
        else:
            last_cell = [Paragraph(_x(fmt.quantity(last, item.unit)), styles.cell),
                         _bar(last / top, bar_w, colors.HexColor("#b4bcc7"))]
            if last > 0:
                ratio = ((item.this_year - last) / last).quantize(Decimal("0.01"))
                sign = "+" if ratio > 0 else "-" if ratio < 0 else ""
                change = sign + fmt.rate(abs(ratio))
        rows.append([
            Paragraph(_x(item.identifier), styles.cell),
            last_cell,
            [Paragraph(_x(fmt.quantity(item.this_year, item.unit)), styles.cell_bold),
             _bar(item.this_year / top, bar_w, brand)],
            Paragraph(_x(change), styles.cell_right),
        ])
    table = Table(rows, colWidths=[CONTENT_W - 2 * value_w - 28 * mm, value_w, value_w, 28 * mm])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 5),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, RULE),
    ]))
    return table


def _bar(share: Decimal, width: float, colour: colors.Color) -> Drawing:
    height = 3.2 * mm
    drawing = Drawing(width, height + 1.5 * mm)
    drawing.add(Rect(0, 0, max(1.0, float(share) * width), height, fillColor=colour, strokeColor=None))
    return drawing


def _contract_table(doc: BillDocument, _, styles: _Styles, fmt: _Fmt):
    rows = []
    if doc.tariff_name:
        rows.append((_("Offer"), doc.tariff_name))
    if doc.contract_number:
        rows.append((_("Contract"), doc.contract_number))
    rows.append((_("Contract end date"), fmt.date(doc.contract_end_date) if doc.contract_end_date
                 else _("Open-ended")))
    if doc.delivery_points:
        label = _("Point of delivery") if len(doc.delivery_points) == 1 else _("Points of delivery")
        rows.append((label, ", ".join(doc.delivery_points)))
    table = Table([[Paragraph(_x(k), styles.small), Paragraph(_x(v), styles.cell)] for k, v in rows],
                  colWidths=[45 * mm, CONTENT_W - 45 * mm])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    return table


def _payment_section(doc: BillDocument, _, styles: _Styles, fmt: _Fmt):
    tenant = doc.tenant
    payload = qr_payload_for(doc)
    text: list = []
    if doc.payment_method == "direct_debit":
        text.append(Paragraph(_x(_("You pay by direct debit: there is nothing to do.")), styles.body))
    else:
        if tenant.iban and is_valid_iban(tenant.iban):
            text.append(Paragraph(_x(_("By bank transfer, quoting the reference:")), styles.body))
            rows = [(_("Beneficiary"), tenant.legal_name or tenant.name), ("IBAN", format_iban(tenant.iban))]
            if tenant.bic:
                rows.append(("BIC", tenant.bic))
            rows.append((_("Reference"), doc.bill_number))
            rows.append((_("Amount"), fmt.money(doc.total_incl_tax)))
            details = Table([[Paragraph(_x(k), styles.small), Paragraph(_x(v), styles.cell_bold)] for k, v in rows],
                            colWidths=[28 * mm, 92 * mm], hAlign="LEFT")
            details.setStyle(TableStyle([
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]))
            text += [Spacer(1, 1.5 * mm), details, Spacer(1, 2 * mm)]
        if tenant.card_payments:  # never point customers to a card checkout the utility does not offer
            text.append(Paragraph(_x(_("Or pay online by card in your customer account, with the reference "
                                       "%(reference)s.") % {"reference": doc.bill_number}), styles.body))
    if payload is None:
        return text
    qr_size = 34 * mm
    # Error correction level M, as the EPC guidelines ask.
    widget = QrCodeWidget(_qr_segments(payload), barLevel="M", barWidth=qr_size, barHeight=qr_size, barBorder=2)
    drawing = Drawing(qr_size, qr_size)
    drawing.add(widget)
    qr = [drawing, Paragraph(_x(_("Scan with your banking app to pay by transfer")), styles.small)]
    table = Table([[text, qr]], colWidths=[CONTENT_W - 44 * mm, 44 * mm])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
    ]))
    return [table]


def _story(doc: BillDocument, _, styles: _Styles, brand: colors.Color, fmt: _Fmt) -> list:
    story: list = [NextPageTemplate("later"), _amount_box(doc, _, styles, brand, fmt)]

    story.append(_heading(_("Details of your credit note") if doc.kind == "credit_note"
                          else _("Details of your bill"), styles))
    story.append(_lines_table(doc, _, styles, brand, fmt))
    if doc.vat_statement:
        story.append(Spacer(1, 1.5 * mm))
        story.append(Paragraph(_x(doc.vat_statement), styles.small))
    story.append(Spacer(1, 3 * mm))
    story.append(KeepTogether([_totals_table(doc, _, styles, brand, fmt)]))

    if doc.consumption:
        story.append(CondPageBreak(40 * mm))
        story.append(_heading(_("Your consumption"), styles))
        for index, pod in enumerate(doc.consumption):
            if index:
                story.append(Spacer(1, 4 * mm))
            story.append(_consumption_block(pod, _, styles, fmt))
    if doc.comparisons:
        story.append(KeepTogether([_heading(_("Compared with the same period last year"), styles),
                                   _comparison_table(doc, _, styles, brand, fmt)]))

    story.append(KeepTogether([_heading(_("Your contract"), styles), _contract_table(doc, _, styles, fmt)]))
    if not doc.is_credit and doc.total_incl_tax > 0:
        story.append(KeepTogether([_heading(_("How to pay"), styles), *_payment_section(doc, _, styles, fmt)]))

    dispute = [_heading(_("A question or a disagreement?"), styles)]
    dispute += [Paragraph(_x(line), styles.body) for line in service_lines(doc, _)]
    dispute.append(Paragraph(_x(doc.dispute_text), styles.body))
    story.append(KeepTogether(dispute))
    legal = legal_line(doc, _)
    if legal:
        story += [Spacer(1, 4 * mm), Paragraph(_x(legal), styles.small)]
    return story


def service_lines(doc: BillDocument, _) -> list[str]:
    """Customer service with its hours, and the emergency number of each activity the bill is about."""
    tenant = doc.tenant
    lines = []
    if tenant.support_phone:
        lines.append(_("Customer service: %(phone)s (%(hours)s)") % {"phone": tenant.support_phone,
                                                                     "hours": tenant.support_hours}
                     if tenant.support_hours else _("Customer service: %(phone)s") % {"phone": tenant.support_phone})
    for activity, phone in tenant.emergency:
        lines.append(_("Emergencies (%(activity)s), day and night: %(phone)s") % {"activity": activity.lower(),
                                                                                  "phone": phone})
    return lines


def legal_line(doc: BillDocument, _) -> str:
    """The issuer's legal identity, as the law wants it on an invoice: legal name, registered office, company
    registration and VAT numbers."""
    tenant = doc.tenant
    parts = [tenant.legal_name or ""]
    if tenant.registered_office:
        parts.append(_("Registered office: %(address)s") % {"address": ", ".join(tenant.registered_office)})
    if tenant.company_registration:
        parts.append(_("Company registration: %(number)s") % {"number": tenant.company_registration})
    if tenant.vat_number:
        parts.append(_("VAT number: %(number)s") % {"number": tenant.vat_number})
    return " · ".join(p for p in parts if p) if tenant.legal_name or len(parts) > 1 else ""


def render_bill_pdf(doc: BillDocument, *, _: Callable[[str], str]) -> bytes:
    """The bill as PDF bytes; `_` translates into the bill's locale (see `domain.i18n.translator`)."""
    brand = _brand(doc)
    styles = _Styles(brand)
    fmt = _Fmt(doc)
    buffer = io.BytesIO()
    title = f"{document_title(doc.kind, _)} {doc.bill_number}"
    template = BaseDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=LATER_FRAME_TOP,
        bottomMargin=BOTTOM, title=pdf_text(title), author=pdf_text(doc.tenant.name),
        subject=pdf_text(title), creator=pdf_text(doc.tenant.name), invariant=True, lang=doc.locale.replace("_", "-"),
    )
    first = Frame(MARGIN, BOTTOM, CONTENT_W, PAGE_H - FIRST_FRAME_TOP - BOTTOM, id="first",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    later = Frame(MARGIN, BOTTOM, CONTENT_W, PAGE_H - LATER_FRAME_TOP - BOTTOM, id="later",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    template.addPageTemplates([
        PageTemplate(id="first", frames=[first], onPage=_first_page(doc, _, styles, brand, fmt)),
        PageTemplate(id="later", frames=[later], onPage=_later_pages(doc, _, brand)),
    ])
    template.build(_story(doc, _, styles, brand, fmt), canvasmaker=_numbered_canvas(doc, _))
    return buffer.getvalue()

