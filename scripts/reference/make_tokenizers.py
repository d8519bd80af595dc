#!/usr/bin/env python3
"""Builds the non-WordPiece reference tokenizers under tests/data/tokenizers/ with the real libraries, and their
golden encodings (tests/data/tokenizers/arch_golden.jsonl).

Development tool (needs sentencepiece, tokenizers, transformers 5.x, faker; see scripts/reference/README.md):
    HF_HUB_OFFLINE=1 /work/venv5/bin/python scripts/reference/make_tokenizers.py

Tokenizers written (each directory holds what `save_pretrained` writes):
  xlmr-unigram      SentencePiece Unigram trained here (nmt_nfkc, so the Precompiled charsmap is SentencePiece's
                    real one), converted by transformers' XLMRobertaConverter from the .model file: the layout
                    of XLM-R / bge-reranker-v2-m3 / bge-m3 files on the Hub (Precompiled + Replace normalizers,
                    Metaspace, TemplateProcessing `<s> $A </s> </s> $B </s>`, `<mask>` with lstrip).
  xlmr-unigram-t5   the same vocabulary and charsmap through transformers 5's XLMRobertaTokenizer (its layout).
  unigram-bytefallback  a Unigram with byte_fallback (SentencePiece byte_fallback=True) in tokenizers' own layout.
  roberta-bpe       byte-level BPE trained by `tokenizers`, saved as RobertaTokenizerFast (ByteLevel pre-tokenizer,
                    RobertaProcessing).
  modernbert-bpe    the same kind of BPE in ModernBERT's layout (NFC, ByteLevel, `[CLS] $A [SEP] $B [SEP]`, `[MASK]`
                    with lstrip).
  qwen-bpe          byte-level BPE in Qwen2/Qwen3's layout (NFC, Split by Qwen's regex + ByteLevel without regex,
                    chat special tokens as added tokens, no template).

Golden lines: {tokenizer, text, text_pair?, max_length, input_ids, token_type_ids}: `Tokenizer.from_file(...)` with
`enable_truncation(max_length, strategy="longest_first")` (0 = none), add_special_tokens=True.
"""
import json
import os
import random
import shutil
import sys
import tempfile

import faker
import sentencepiece as spm
import tokenizers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
import transformers
from transformers import PreTrainedTokenizerFast, RobertaTokenizerFast

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokenizer_golden as tg  # noqa: E402  (texts shared with the WordPiece goldens)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "data", "tokenizers")
SCIFACT = os.path.join(os.path.dirname(ROOT), "shared", "data", "scifact", "corpus.jsonl.gz")

LOCALES = ["en_US", "fr_FR", "de_DE", "ru_RU", "el_GR", "ar_AA", "he_IL", "th_TH", "zh_CN", "ja_JP", "es_ES",
           "pl_PL", "cs_CZ", "uk_UA", "fa_IR", "bn_BD", "vi_VN", "it_IT", "pt_BR", "zh_TW"]

# Scripts faker has no real text for, plus the hard cases the issue lists.
EXTRA = [
    "नमस्ते दुनिया, यह एक परीक्षण वाक्य है। हिन्दी भाषा में लिखा गया पाठ।", "भारत एक विशाल देश है और इसकी राजधानी नई दिल्ली है।",
    "안녕하세요 세계. 한국어 문장을 토큰화합니다. 서울은 대한민국의 수도입니다.", "저는 학생입니다. 오늘 날씨가 좋네요.",
    "สวัสดีครับ ประเทศไทย กรุงเทพมหานคร", "ሰላም ለዓለም", "Ελληνικά: Καλημέρα κόσμε!", "עברית: שלום עולם",
    "👨\u200d👩\u200d👧\u200d👦 family 👩🏽\u200d💻 coder 🏳️\u200d🌈 flag 🇯🇵 🇩🇪 😀😃😄 🍕🎉",
    "e\u0301 a\u0300 o\u0308 n\u0303 combining: \u0915\u094d\u0937 \u0e01\u0e34", "ＡＢＣ１２３！？ ｈｅｌｌｏ ｶﾀｶﾅ",
    "İstanbul ıi STRASSE Straße ﬁnance ﬀ ǅemal", "Zürich São Paulo Kraków Ελλάδα Москва 東京 北京大学 서울",
]

MORE_TEXTS = [
    "Привет, как дела? Это тест токенизатора.", "Καλημέρα σας, τι κάνετε;", "مرحبا، كيف حالك؟ هذا اختبار.",
    "שלום, מה שלומך? זה מבחן.", "नमस्ते, आप कैसे हैं?", "สวัสดีครับ คุณสบายดีไหม", "你好，你好吗？这是一个测试。",
    "こんにちは、お元気ですか？これはテストです。", "안녕하세요, 어떻게 지내세요?", "Ça va? Très bien, merci! Œuvre",
    "👩\u200d👩\u200d👧\u200d👦👨🏿\u200d🦰 🧑\u200d🤝\u200d🧑", "a\u0301\u0302\u0303 \u1100\u1161\u11a8 \u0627\u064e\u0644",
    "ｆｕｌｌ－ｗｉｄｔｈ　ｓｐａｃｅ", "  leading  double  spaces  ", "tab\tseparated\tvalues\nnew line",
    "<s> typed </s> special <pad> <unk> <mask> tokens", "x<mask>y <mask> z  <mask>  w", "[CLS] x [SEP] y [MASK] z",
    "<|im_start|>user\nhi<|im_end|>\n<|endoftext|>", "▁already▁has▁metaspace ▁ ▁▁",
    "don't I'll we've she's they're I'M YOU'LL", "123 4567 89012 3.14159", "   ", "\u00a0\u3000\u2003",
    "\u200b\u200c\u200d\ufeff", "mixed中文English한국어Русский", "ǅ ǈ ǋ ﬃ ℌ ℃ ½ ⑴ ㎏",
]


def training_lines():
    lines = []
    for loc in LOCALES:
        f = faker.Faker(loc)
        f.seed_instance(7)
        lines.extend(f.text(300) for _ in range(200))
    lines.extend(EXTRA * 30)
    if os.path.exists(SCIFACT):
        import gzip
        with gzip.open(SCIFACT, "rt", encoding="utf-8") as g:
            for i, line in enumerate(g):
                if i >= 1500:
                    break
                d = json.loads(line)
                lines.append((d.get("title", "") + " " + d.get("text", "")).strip())
    return [l.replace("\n", " ") for l in lines if l.strip()]


def save_dir(name):
    d = os.path.join(DATA, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def tidy(d, keep=("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")):
    for f in os.listdir(d):
        if f not in keep:
            os.remove(os.path.join(d, f))


def make_unigram(lines, tmp):
    corpus = os.path.join(tmp, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    prefix = os.path.join(tmp, "spm")
    # XLM-R's sentencepiece.bpe.model is a Unigram model with nmt_nfkc; ids 0..3 are <unk> <s> </s> <pad> after
    # fairseq's offset, which the converter applies.
    if not os.path.exists(prefix + ".model"):  # SPM_CACHE keeps the trained model between runs
        spm.SentencePieceTrainer.train(input=corpus, model_prefix=prefix, vocab_size=4000, model_type="unigram",
                                   normalization_rule_name="nmt_nfkc", character_coverage=0.9995,
                                   input_sentence_size=100000, shuffle_input_sentence=False, seed_sentencepiece_size=200000,
                                   num_threads=2, minloglevel=2)
    from transformers.convert_slow_tokenizer import SpmConverter, XLMRobertaConverter

    class _Slow:  # what the converters read of a slow (sentencepiece) tokenizer
        def __init__(self, path):
            self.vocab_file = path
        legacy = False
        add_prefix_space = True

        @staticmethod
        def convert_tokens_to_ids(token):  # XLM-R's fairseq ids, as XLMRobertaConverter.vocab() lays them out
            return {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}[token]

    special = dict(bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>", unk_token="<unk>",
                   pad_token="<pad>", mask_token=tokenizers.AddedToken("<mask>", lstrip=True, special=True))
    # Classic: transformers' XLMRobertaConverter (Precompiled + Replace normalizers, Metaspace, template), as the
    # tokenizer.json files of xlm-roberta-*, bge-reranker-v2-m3 and bge-m3 on the Hub were made.
    conv = XLMRobertaConverter(_Slow(prefix + ".model")).converted()
    d = save_dir("xlmr-unigram")
    PreTrainedTokenizerFast(tokenizer_object=conv, model_max_length=512, **special).save_pretrained(d)
    tidy(d)
    # transformers 5's XLMRobertaTokenizer built from the vocabulary and charsmap: its own layout
    # (WhitespaceSplit + Metaspace pre-tokenizers, Precompiled only).
    classic = json.load(open(os.path.join(d, "tokenizer.json"), encoding="utf-8"))
    vocab = [tuple(v) for v in classic["model"]["vocab"]]
    import base64
    charsmap = base64.b64decode(next(n["precompiled_charsmap"] for n in classic["normalizer"]["normalizers"]
                                     if n["type"] == "Precompiled"))
    from transformers.models.xlm_roberta.tokenization_xlm_roberta import XLMRobertaTokenizer
    t5 = XLMRobertaTokenizer(vocab=vocab, _spm_precompiled_charsmap=charsmap, model_max_length=512,
                             mask_token=tokenizers.AddedToken("<mask>", lstrip=True, special=True))
    d5 = save_dir("xlmr-unigram-t5")
    t5.save_pretrained(d5)
    tidy(d5)
    # Unigram with byte_fallback (as SentencePiece byte_fallback=True models), built with tokenizers directly.
    prefix_bf = os.path.join(tmp, "spm_bf")
    if not os.path.exists(prefix_bf + ".model"):
        spm.SentencePieceTrainer.train(input=corpus, model_prefix=prefix_bf, vocab_size=3000, model_type="unigram",
                                   normalization_rule_name="nmt_nfkc", byte_fallback=True, character_coverage=0.98,
                                   input_sentence_size=100000, shuffle_input_sentence=False, num_threads=2, minloglevel=2)
    base = SpmConverter(_Slow(prefix_bf + ".model"))
    proto = base.proto
    uni = Tokenizer(models.Unigram([(p.piece, p.score) for p in proto.pieces], unk_id=proto.trainer_spec.unk_id,
                                   byte_fallback=True))
    uni.normalizer = normalizers.Sequence([normalizers.Precompiled(proto.normalizer_spec.precompiled_charsmap),
                                           normalizers.Replace(Regex(" {2,}"), " ")])
    uni.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=False)
    uni.decoder = decoders.Sequence([decoders.Metaspace(), decoders.ByteFallback()])
    d3 = save_dir("unigram-bytefallback")
    PreTrainedTokenizerFast(tokenizer_object=uni, unk_token="<unk>", bos_token="<s>", eos_token="</s>").save_pretrained(d3)
    tidy(d3)
    return ["xlmr-unigram", "xlmr-unigram-t5", "unigram-bytefallback"]


def train_bpe(lines, vocab_size, special, normalizer=None, pre=None):
    tok = Tokenizer(models.BPE())
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre or pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special, min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(lines, trainer)
    return tok


def make_bpe(lines):
    names = []
    # RoBERTa
    tok = train_bpe(lines, 3000, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")),
                                                      trim_offsets=True, add_prefix_space=False)
    d = save_dir("roberta-bpe")
    fast = RobertaTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                                model_max_length=512)
    fast.save_pretrained(d)
    tidy(d)
    names.append("roberta-bpe")
    # ModernBERT
    special = ["|||IP_ADDRESS|||", "<|padding|>", "[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    tok = train_bpe(lines, 3000, special, normalizer=normalizers.NFC())
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
                                                       special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
                                   pad_token="[PAD]", model_max_length=8192,
                                   mask_token=tokenizers.AddedToken("[MASK]", lstrip=True, rstrip=False, special=True))
    d = save_dir("modernbert-bpe")
    fast.save_pretrained(d)
    tidy(d)
    names.append("modernbert-bpe")
    # Qwen2 / Qwen3
    qwen_re = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
               r"|\s+(?!\S)|\s+")
    pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(qwen_re), behavior="isolated", invert=False),
                                   pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok = train_bpe(lines, 3000, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], normalizer=normalizers.NFC(), pre=pre)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   model_max_length=32768)
    d = save_dir("qwen-bpe")
    fast.save_pretrained(d)
    tidy(d)
    names.append("qwen-bpe")
    return names


def cases(lines):
    rng = random.Random(2024)
    out = tg.build_cases()  # ~530 cases: scripts, emoji, controls, long words, pairs and LongestFirst ties
    texts = MORE_TEXTS + EXTRA + [rng.choice(lines)[: rng.randint(5, 400)] for _ in range(250)]
    for t in texts:
        out.append((t, None, 0))
    for _ in range(200):
        a, b = rng.choice(texts), rng.choice(lines)[: rng.randint(20, 1500)]
        out.append((a, b, rng.choice([8, 9, 10, 16, 33, 64, 128, 256, 0])))
    return out


def write_goldens(names, all_cases):
    path = os.path.join(DATA, "arch_golden.jsonl")
    n = tg.write_goldens(names, all_cases, path)
    print(f"wrote {n} cases to {path} (tokenizers {tokenizers.__version__}, transformers {transformers.__version__},"
          f" sentencepiece {spm.__version__})", file=sys.stderr)


def main():
    lines = training_lines()
    tmp = os.environ.get("SPM_CACHE") or tempfile.mkdtemp()  # SPM_CACHE=DIR keeps the trained models for reruns
    os.makedirs(tmp, exist_ok=True)
    names = make_unigram(lines, tmp)
    names += make_bpe(lines)
    write_goldens(names, cases(lines))


if __name__ == "__main__":
    main()
