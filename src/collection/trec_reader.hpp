// TREC SGML document files (`<DOC> <DOCNO>id</DOCNO> ... </DOC>`, several per file, plain or gzipped), the
// layout of the TREC disks (AP, WSJ, FT, LA Times, FBIS, FR) and of most classic collections converted to TREC.
//
// Which text is kept follows Anserini's TrecCollection: the contents of <TEXT>, <HEADLINE>, <TITLE>, <HL>,
// <HEAD>, <TTL>, <DD>, <DATE>, <LP> and <LEADPARA>; other elements (DOCID, BYLINE, ...) are left out. The
// title-like ones (HEADLINE, TITLE, HL, HEAD, TTL) become Document::title, the rest Document::text, in document
// order. A document with none of these elements gets the text written loose between its tags instead (tags
// stripped, <DOCHDR> skipped). Markup inside an element (<P>, <F P=...>, <!-- -->) is dropped, its content kept;
// the five XML entities (&amp; &lt; &gt; &quot; &apos;) are decoded. Tag names are case-insensitive.
#pragma once
#include <functional>
#include <string>

#include "collection/line_reader.hpp"
#include "rerank/collection.hpp"

namespace rerank::collection {

/// Reads every document of `r` and hands each to `emit`. Throws InputError naming the file and line for text
/// outside <DOC> ... </DOC>, a <DOC> inside another, a document without </DOC>, without <DOCNO> or with two,
/// an empty or unclosed <DOCNO>, and a text element (e.g. <TEXT>) not closed before </DOC>.
void read_trec_documents(LineReader& r, const std::function<void(Document&&)>& emit);

/// Whether a (first non-blank) line starts a TREC SGML document: "<DOC>" or "<DOC ...>", any case.
bool starts_trec_document(const std::string& line);

}  // namespace rerank::collection
