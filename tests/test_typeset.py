"""The report's HTML fragment as Typst markup (pipeline/writing/typeset.py): every element the PDF
prints is converted, anything else is refused by name, and the text is taken as text."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from pipeline.writing.pdf import pdf_bytes
from pipeline.writing.typeset import TypesetError, to_typst


def _pdf_text(fragment: str) -> str:
    pages = PdfReader(io.BytesIO(pdf_bytes(fragment, "t"))).pages
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pages))


def test_a_div_lists_and_a_table_are_converted_and_printed() -> None:
    fragment = """<article class="cnscd-report">
    <div class="note">Trong <strong>khối</strong>   này</div>
    <ul><li>Thôn <em>Đông</em></li>
        <li>Thôn Tây</li></ul>
    <ol><li>Một</li><li>Hai</li></ol>
    <table class="annex-table">
      <thead><tr><th>Thôn</th><th>Người</th></tr></thead>
      <tbody><tr><td>Bích Tây</td><td class="num">1.234</td></tr>
             <tr><td colspan="2">Cộng</td></tr></tbody>
    </table></article>"""
    markup = to_typst(fragment)
    assert '#h-div(c: ("note", ))[#"Trong "#h-strong(c: ())[#"khối"]#" này"]' in markup
    assert '#h-ul(c: (), ([#"Thôn "#h-em(c: ())[#"Đông"]], [#"Thôn Tây"], ))' in markup
    assert '#h-ol(c: (), ([#"Một"], [#"Hai"], ))' in markup
    assert '#h-table(c: ("annex-table", ), columns: 2, head: (h-cell(' in markup
    assert 'colspan: 2, fill: none)[#"Cộng"]' in markup
    text = _pdf_text(fragment)
    for shown in ("Trong khối này", "Thôn Đông", "Thôn Tây", "Một", "Hai", "Bích Tây 1.234"):
        assert shown in text, (shown, text)


def test_text_is_never_read_as_markup() -> None:
    fragment = '<p>#set page(width: 1cm) *đậm* _nghiêng_ $x$ \\ "trích" @nhãn [a] // b</p>'
    markup = to_typst(fragment)
    assert markup == (  # one string: only a backslash and a quote are escaped in it
        '#h-p(c: ())[#"#set page(width: 1cm) *đậm* _nghiêng_ $x$ '
        '\\\\ \\"trích\\" @nhãn [a] // b"]\n'
    )
    assert '#set page(width: 1cm) *đậm* _nghiêng_ $x$ \\ "trích" @nhãn [a] // b' in _pdf_text(
        fragment
    )


def test_white_space_is_collapsed_as_a_browser_shows_it() -> None:
    markup = to_typst("<p>\n  Dòng   một <br>\n dòng <strong> hai </strong> hết \n</p>")
    assert markup == (
        '#h-p(c: ())[#"Dòng một"#linebreak()#"dòng "#h-strong(c: ())[#"hai "]#"hết"]\n'
    )


@pytest.mark.parametrize(
    ("fragment", "named"),
    [
        ("<p>a</p><blockquote>b</blockquote>", "<blockquote>"),
        ("<p>a<code>b</code></p>", "<code>"),
        ('<p>a<img src="x.png"></p>', "<img>"),
        ("<p><span>a<div>b</div></span></p>", "<div>"),
        ('<p style="color: red">a</p>', "inline style"),
        ('<table><tr><td style="border: 1px">a</td></tr></table>', "background"),
        ('<table><tr><td rowspan="2">a</td></tr></table>', "spanning rows"),
        ("<ul><p>a</p></ul>", "<p>"),
    ],
)
def test_an_element_the_converter_does_not_handle_is_refused_by_name(fragment, named) -> None:
    with pytest.raises(TypesetError, match=re.escape(named)):
        to_typst(fragment)


def test_an_inline_svg_goes_to_typst_whole_with_its_namespace() -> None:
    svg = (
        '<svg width="20pt" height="8pt" viewBox="0 0 20 8">'
        '<text x="1" y="6">T12 &amp; ỹ</text></svg>'
    )
    markup = to_typst(f'<figure class="chart">{svg}</figure>')
    assert 'xmlns=\\"http://www.w3.org/2000/svg\\"' in markup and "viewBox" in markup
    assert markup.count("xmlns") == 1
    assert "T12 & ỹ" in _pdf_text(f'<figure class="chart">{svg}</figure>')


def test_a_process_forked_after_a_pdf_still_makes_pdfs() -> None:
    """Typst's threads start with the first PDF; a pool worker forked after that (a comparison
    made before a run, one test after another) would wait for them forever."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from pipeline.core.workers import stop_now

    fragment = "<p>Trước khi tách tiến trình</p>"
    made = pdf_bytes(fragment, "t")  # this process's Typst threads are running
    fork = multiprocessing.get_context("fork")  # as pipeline/core/workers.py starts its workers
    pool = ProcessPoolExecutor(1, mp_context=fork)
    try:
        assert pool.submit(pdf_bytes, fragment, "t").result(timeout=120) == made
        pool.shutdown(wait=True)  # the worker ends, with its helper
        assert not any(p.is_alive() for p in multiprocessing.active_children())
    finally:
        stop_now(pool)  # a worker that hangs is killed, not waited for
