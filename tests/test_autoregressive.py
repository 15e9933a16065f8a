"""Autoregressive models (issue 14): exact likelihoods, no leak from the future, cached
generation equal to the naive loop, the context windows, the sampling filters."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

import genmodels
from genmodels import Transformer
from genmodels.autoregressive._sampling import check_sampling, draw, filter_logits
from genmodels.autoregressive.base import context_start, score_windows


def _codes(n_seq=20, length=30, vocab=3, seed=0):
    rng = np.random.RandomState(seed)
    return [
        ((np.arange(length) + rng.randint(vocab)) % vocab + (rng.uniform(size=length) < 0.1))
        .clip(max=vocab - 1)[:, None]
        .astype(float)
        for _ in range(n_seq)
    ]


def _tiny(positions="learned", block_size=3, vocab=3, **kw):
    params = dict(
        n_layers=2,
        n_heads=2,
        d_model=8,
        block_size=block_size,
        positions=positions,
        vocab_size=vocab,
        epochs=1,
        batch_size=8,
        warmup_steps=0,
        random_state=0,
    )
    params.update(kw)
    model = Transformer(**params).fit(_codes(vocab=vocab))
    with torch.no_grad():  # untrained-looking weights would make the checks weak: spread them
        g = torch.Generator().manual_seed(1)
        for p in model.module_.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.3)
    return model


def _depends_on(net, shape, position: int, uniform: bool = False):
    """Which input positions output ``position`` of ``net.forward_embeddings`` depends on:
    a non-zero gradient for any of 4 seeded random inputs of ``shape`` (one input could
    hide a dependence behind a ReLU that happens to be off)."""
    g = torch.Generator().manual_seed(position)
    draw = torch.rand if uniform else torch.randn
    e = draw((4, *shape), generator=g).requires_grad_(True)
    (grad,) = torch.autograd.grad(net.forward_embeddings(e)[:, position].sum(), e)
    per_position = grad.abs().sum(0)
    return per_position.sum(-1) > 0 if per_position.dim() > 1 else per_position > 0


# -- the likelihood is exact ---------------------------------------------------------------


@pytest.mark.parametrize("positions", ["learned", "rotary"])
@pytest.mark.parametrize("block_size", [2, 3, 8])
def test_probabilities_of_every_sequence_sum_to_one(positions, block_size):
    """Over all 3^5 sequences of length 5 (longer than the window for block_size 2 and 3,
    so the hopping windows are part of the distribution)."""
    model = _tiny(positions, block_size)
    seqs = [np.array(s, dtype=float)[:, None] for s in itertools.product(range(3), repeat=5)]
    logp = model.score_samples(seqs)
    assert logp.max() < 0
    assert np.exp(logp).sum() == pytest.approx(1.0, abs=1e-5)


def test_scores_are_the_chain_rule_over_the_windowed_contexts():
    """score_samples = sum_t log p(x_t | u[s(j) .. j]) computed one prediction at a time."""
    model = _tiny(block_size=4)
    x = np.array([0, 2, 1, 1, 0, 2, 2, 1, 0, 0, 1], dtype=np.int64)
    u = torch.as_tensor(np.concatenate([[model.vocab_size_], x]))[None]
    net = model.module_.eval()
    want = 0.0
    with torch.no_grad():
        for j in range(len(x)):
            s = context_start(j, 4)
            assert 0 <= j - s < 4
            logits = net(u[:, s : j + 1])[0, -1]
            want += torch.log_softmax(logits.double(), -1)[x[j]].item()
    got = model.score_samples([x[:, None].astype(float)])[0]
    assert got == pytest.approx(want, abs=1e-5)


@pytest.mark.parametrize("block_size", [1 + 1, 3, 4, 7, 64])
def test_score_windows_score_every_prediction_once(block_size):
    for length in range(1, 200):
        seen = np.zeros(length, int)
        for start, first, stop in score_windows(length, block_size):
            assert start <= first < stop <= start + block_size
            seen[first:stop] += 1
            for j in range(first, stop):
                assert context_start(j, block_size) == start
        assert (seen == 1).all(), (block_size, length)


@pytest.mark.parametrize("positions", ["learned", "rotary"])
def test_no_output_depends_on_its_own_or_later_inputs(positions):
    """d logits[i] / d input[j] is exactly zero for j > i (no leak of the future) and
    non-zero for every j <= i (no blind spot): output i predicts the token after input i."""
    net = _tiny(positions, block_size=6).module_.eval()
    for i in range(6):
        seen = _depends_on(net, (6, 8), i)
        assert seen.tolist() == [j <= i for j in range(6)]


# -- cached generation is the naive loop ------------------------------------------------------


@pytest.mark.parametrize("positions", ["learned", "rotary"])
@pytest.mark.parametrize("block_size", [32, 600])
def test_greedy_generation_with_the_cache_gives_the_naive_tokens(positions, block_size):
    model = _tiny(positions, block_size, vocab=5, d_model=16)
    a = model.sample(2, length=512, temperature=0, random_state=0)
    b = model.sample(2, length=512, temperature=0, random_state=0, use_cache=False)
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a)) > 1


@pytest.mark.parametrize("settings", [{}, {"top_k": 2}, {"top_p": 0.7, "temperature": 0.8}])
def test_sampled_generation_with_the_cache_gives_the_naive_tokens(settings):
    model = _tiny(block_size=16, vocab=5, d_model=16)
    a = model.sample(4, length=200, random_state=3, **settings)
    b = model.sample(4, length=200, random_state=3, use_cache=False, **settings)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, model.sample(4, length=200, random_state=3, **settings))


def test_samples_follow_the_model_distribution():
    """First tokens of many samples against p(x_1) from score_samples (chi-square-sized
    tolerance: 4000 draws, 3 values)."""
    model = _tiny(block_size=4)
    first = model.sample(4000, length=1, random_state=0)[:, 0, 0].astype(int)
    p = np.exp(model.score_samples([np.array([[v]], dtype=float) for v in range(3)]))
    freq = np.bincount(first, minlength=3) / 4000
    assert np.abs(freq - p).max() < 4 * math.sqrt(0.25 / 4000)


# -- text, completion, training -----------------------------------------------------------------


def test_text_model_learns_a_pattern_and_completes_it(tmp_path):
    text = "abcd" * 300
    model = Transformer(
        1, 2, 16, block_size=8, epochs=30, batch_size=16, lr=3e-3, warmup_steps=0, random_state=0
    ).fit(text)
    assert model.vocabulary_ == "abcd" and model.vocab_size_ == 4
    assert model.history_["loss"][-1] < 0.1 < model.history_["loss"][0]
    out = model.complete("abcdab", 12, temperature=0)
    assert out == ["abcdab" + "cdab" * 3]
    assert model.bits_per_token("abcdabcd") < 0.5
    assert model.score_samples(["abcd"])[0] > model.score_samples(["dcba"])[0]
    path = tmp_path / "gpt.safetensors"
    model.save(path)
    again = genmodels.load(path)
    assert again.vocabulary_ == "abcd"
    assert again.complete("abcdab", 12, temperature=0) == out
    assert again.sample_text(2, length=5, random_state=0) == model.sample_text(
        2, length=5, random_state=0
    )


def test_bad_text_and_settings_get_clear_errors():
    model = Transformer(1, 2, 8, block_size=4, epochs=1, random_state=0).fit("abab abab")
    with pytest.raises(ValueError, match="'z' is not in the vocabulary"):
        model.score_samples(["abz"])
    with pytest.raises(ValueError, match="temperature"):
        model.complete("ab", 3, temperature=-1)
    with pytest.raises(ValueError, match="top_p"):
        model.complete("ab", 3, top_p=0)
    with pytest.raises(ValueError, match="top_k"):
        model.sample(1, top_k=0)
    with pytest.raises(ValueError, match="n_tokens"):
        model.complete("ab", 0)
    with pytest.raises(ValueError, match="empty"):
        model.fit(["ab", ""])
    with pytest.raises(ValueError, match="divisible"):
        Transformer(1, 3, 8).fit("abab")
    codes = Transformer(1, 2, 8, block_size=4, epochs=1, random_state=0).fit(_codes())
    with pytest.raises(ValueError, match="outside the vocabulary"):
        codes.score_samples([np.array([[0.0], [7.0]])])
    with pytest.raises(TypeError, match="integer codes"):
        codes.score_samples(["abc"])
    with pytest.raises(ValueError, match="one token id"):
        codes.score_samples([np.zeros((3, 2))])


def test_bpe_tokenizer_round_trips_and_scores_its_tokens_by_the_chain_rule(tmp_path):
    pytest.importorskip("tokenizers", reason="the text extra: pip install 'genmodels[text]'")
    text = "the cat sat on the mat. the rat sat on the cat. " * 40
    model = Transformer(
        1, 2, 16, block_size=32, tokenizer="bpe", vocab_size=280, epochs=3, random_state=0
    ).fit(text)
    assert model.vocabulary_ is None and 256 < model.vocab_size_ <= 280
    odd = "the ünïcode cat: ✓"  # characters never seen in fit still encode (byte level)
    ids = model._encode_text([odd], fitting=False)[0]
    assert model._decode_text(ids) == odd and len(ids) < 32  # one window scores it all
    assert len(model._encode_text(["the cat sat"], fitting=False)[0]) < len("the cat sat")
    # the score of a text is the chain rule over its tokens
    u = torch.as_tensor(np.concatenate([[model.vocab_size_], ids]))[None]
    with torch.no_grad():
        logp = torch.log_softmax(model.module_(u[:, :-1]).double(), -1)[0]
    chain = float(logp[torch.arange(len(ids)), u[0, 1:]].sum())
    assert model.score_samples([odd])[0] == pytest.approx(chain, rel=1e-6)
    path = tmp_path / "bpe.safetensors"
    model.save(path)
    again = genmodels.load(path)
    assert again.tokenizer_json_ == model.tokenizer_json_
    np.testing.assert_allclose(again.score_samples([text[:200]]), model.score_samples([text[:200]]))
    assert again.complete("the c", 5, temperature=0) == model.complete("the c", 5, temperature=0)
    with pytest.raises(ValueError, match="vocab_size > 256"):
        Transformer(1, 2, 8, tokenizer="bpe", vocab_size=100).fit(text)
    # refitting on characters forgets the BPE tokenizer
    assert Transformer(1, 2, 8, block_size=4, epochs=1).fit("abab").tokenizer_json_ is None


# -- the sampling filters -----------------------------------------------------------------------


def test_filters_keep_the_top_k_and_the_nucleus():
    logits = torch.log(torch.tensor([[0.5, 0.2, 0.15, 0.1, 0.05]]))
    keep = torch.isfinite(filter_logits(logits, 1.0, 2, None))[0].tolist()
    assert keep == [True, True, False, False, False]
    # the smallest set reaching 0.8: 0.5 + 0.2 + 0.15
    keep = torch.isfinite(filter_logits(logits, 1.0, None, 0.8))[0].tolist()
    assert keep == [True, True, True, False, False]
    keep = torch.isfinite(filter_logits(logits, 1.0, None, 0.01))[0].tolist()
    assert keep == [True, False, False, False, False]
    g = torch.Generator().manual_seed(0)
    assert (draw(logits.repeat(50, 1), 0.0, None, None, g) == 0).all()
    picks = draw(logits.repeat(20000, 1), 1.0, None, 0.8, g)
    freq = torch.bincount(picks, minlength=5).double() / 20000
    np.testing.assert_allclose(freq[:3].numpy(), np.array([0.5, 0.2, 0.15]) / 0.85, atol=0.015)
    assert freq[3:].sum() == 0
    with pytest.raises(TypeError, match="temperature"):
        check_sampling("hot", None, None, "M")


# -- the command line ---------------------------------------------------------------------------


def test_command_line_fits_text_completes_and_samples(tmp_path, capsys):
    from genmodels.cli.main import main

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("abcd" * 200, encoding="utf-8")
    (tmp_path / "docs" / "b.txt").write_text("abcd" * 100, encoding="utf-8")
    model = tmp_path / "gpt.safetensors"
    settings = [
        "--set",
        "n_layers=1",
        "--set",
        "d_model=16",
        "--set",
        "n_heads=2",
        "--set",
        "block_size=8",
        "--set",
        "epochs=20",
        "--set",
        "lr=0.003",
        "--set",
        "warmup_steps=0",
        "--set",
        "random_state=0",
    ]
    assert (
        main(["fit", "transformer", str(tmp_path / "docs"), *settings, "-o", str(model), "--quiet"])
        == 0
    )
    out = capsys.readouterr().out
    assert "2 text(s), 1200 characters" in out and "bits/character" in out
    assert main(["complete", str(model), "abcdab", "-n", "6", "--temperature", "0"]) == 0
    assert capsys.readouterr().out == "abcdabcdabcd\n"
    sample = tmp_path / "s.txt"
    assert (
        main(["sample", str(model), "-n", "3", "--length", "12", "-o", str(sample), "--seed", "0"])
        == 0
    )
    texts = sample.read_text(encoding="utf-8").strip("\n").split("\n\n")
    assert len(texts) == 3 and all(len(t) == 12 and set(t) <= set("abcd") for t in texts)
    bad = tmp_path / "bin.txt"
    bad.write_bytes(b"\x00\x01\x02")
    assert main(["fit", "transformer", str(bad), "-o", str(model)]) != 0
    err = capsys.readouterr().err
    assert "bin.txt" in err and "binary" in err
    assert main(["complete", str(model), "abz"]) != 0
    assert "'z' is not in the vocabulary" in capsys.readouterr().err


# -- WaveNet ------------------------------------------------------------------------------------


def _wavenet(layers=2, blocks=2, vocab=3, **kw):
    from genmodels import WaveNet

    params = dict(
        layers_per_block=layers,
        n_blocks=blocks,
        residual_channels=8,
        skip_channels=8,
        vocab_size=vocab,
        epochs=1,
        batch_size=8,
        random_state=0,
    )
    params.update(kw)
    model = WaveNet(**params).fit(_codes(vocab=vocab))
    with torch.no_grad():
        g = torch.Generator().manual_seed(1)
        for p in model.module_.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.3)
    return model


def test_wavenet_probabilities_of_every_sequence_sum_to_one():
    model = _wavenet(layers=1, blocks=2)  # receptive field 3 < length 6
    assert model.receptive_field_ == 3
    seqs = [np.array(s, dtype=float)[:, None] for s in itertools.product(range(3), repeat=6)]
    assert np.exp(model.score_samples(seqs)).sum() == pytest.approx(1.0, abs=1e-5)


def test_wavenet_outputs_see_exactly_their_receptive_field():
    model = _wavenet(layers=2, blocks=2)  # dilations 1, 2, 1, 2: receptive field 7
    r = model.receptive_field_
    assert r == 7
    net = model.module_.eval()
    for i in range(12):
        seen = _depends_on(net, (12, 8), i)
        assert seen.tolist() == [i - r < j <= i for j in range(12)]


@pytest.mark.parametrize("settings", [{"temperature": 0}, {}, {"top_k": 2, "temperature": 0.9}])
def test_wavenet_fast_generation_gives_the_naive_samples(settings):
    model = _wavenet(layers=3, blocks=2, vocab=5)
    a = model.sample(
        3, length=512 if settings == {"temperature": 0} else 200, random_state=2, **settings
    )
    b = model.sample(3, length=a.shape[1], random_state=2, use_cache=False, **settings)
    np.testing.assert_array_equal(a, b)
    if settings != {"temperature": 0}:  # greedy decoding may settle on one level
        assert len(np.unique(a)) > 1
    prefix = np.array([0, 4, 1, 3, 2, 2, 0, 1] * 3)  # past the receptive field (15)
    np.testing.assert_array_equal(
        model.complete(prefix, 40, random_state=5, **settings),
        model.complete(prefix, 40, random_state=5, use_cache=False, **settings),
    )


def test_wavenet_scores_are_the_chain_rule_over_the_receptive_field():
    model = _wavenet(layers=2, blocks=1)  # receptive field 4
    x = np.array([0, 2, 1, 1, 0, 2, 2, 1, 0, 0, 1], dtype=np.int64)
    u = torch.as_tensor(np.concatenate([[model.vocab_size_], x]))[None]
    net = model.module_.eval()
    want = 0.0
    with torch.no_grad():
        for j in range(len(x)):
            logits = net(u[:, max(0, j - 3) : j + 1])[0, -1]
            want += torch.log_softmax(logits.double(), -1)[x[j]].item()
    assert model.score_samples([x[:, None].astype(float)])[0] == pytest.approx(want, abs=1e-5)


def test_wavenet_training_windows_train_each_level_once_with_its_full_context():
    model = _wavenet(layers=2, blocks=1, chunk_length=6)  # receptive field 4, windows of 6
    seq = np.arange(20) % 3
    w = model._windows([seq]).numpy()
    targets = w[:, 1:]
    trained = np.sort(targets[targets >= 0])
    np.testing.assert_array_equal(np.bincount(trained, minlength=3), np.bincount(seq, minlength=3))
    with pytest.raises(ValueError, match="chunk_length"):
        _wavenet(layers=3, blocks=1, chunk_length=4)


def test_mu_law_round_trip():
    from genmodels.autoregressive import mu_law_decode, mu_law_encode

    x = np.linspace(-1, 1, 10001)
    codes = mu_law_encode(x)
    assert codes.min() == 0 and codes.max() == 255 and (np.diff(codes) >= 0).all()
    back = mu_law_decode(codes)
    # the quantisation step of mu-law grows with |x|: about 1/2000 near 0, 1/40 near 1
    assert np.abs(back - x).max() < 0.03 and np.abs(back - x)[np.abs(x) < 0.01].max() < 5e-4
    np.testing.assert_array_equal(mu_law_encode(back), codes)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        mu_law_encode([0.5, 1.5])


# -- PixelCNN -----------------------------------------------------------------------------------


def _pixelcnn(shape=(3, 3), n_levels=2, n_layers=4, cls="PixelCNN", **kw):
    """A tiny fitted image model with spread weights; ``cls`` "PixelRNN-diagonal" is
    PixelRNN with ``layer="diagonal"``."""
    if cls == "PixelRNN-diagonal":
        cls, kw = "PixelRNN", {"layer": "diagonal", **kw}
    rng = np.random.RandomState(0)
    X = rng.randint(0, n_levels, size=(40, shape[0] * shape[1])).astype(float)
    params = dict(
        n_layers=n_layers,
        channels=8,
        head_channels=8,
        kernel_size=3,
        n_levels=n_levels,
        image_shape=shape,
        epochs=1,
        batch_size=8,
        random_state=0,
    )
    params.update(kw)
    model = getattr(genmodels, cls)(**params).fit(X)
    with torch.no_grad():
        g = torch.Generator().manual_seed(1)
        for p in model.module_.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.3)
    return model


@pytest.mark.parametrize("cls", ["PixelCNN", "PixelRNN", "PixelRNN-diagonal"])
@pytest.mark.parametrize("shape, n_levels", [((2, 3), 2), ((3, 2), 3), ((3, 3), 2)])
def test_image_models_probabilities_of_every_image_sum_to_one(shape, n_levels, cls):
    model = _pixelcnn(shape, n_levels, cls=cls)
    n = shape[0] * shape[1]
    images = np.array(list(itertools.product(range(n_levels), repeat=n)), dtype=float)
    assert np.exp(model.score_samples(images)).sum() == pytest.approx(1.0, abs=1e-5)


def test_pixelcnn_sees_every_pixel_above_and_to_the_left_and_no_other():
    """No blind spot (the original PixelCNN misses pixels up and to the right) and no leak:
    with enough layers to cover a 4 x 4 image, pixel p depends on exactly pixels < p."""
    net = _pixelcnn((4, 4), n_layers=5).module_.eval()
    for p in range(16):
        assert _depends_on(net, (16,), p, uniform=True).tolist() == [q < p for q in range(16)], p


@pytest.mark.parametrize("cls", ["PixelCNN", "PixelRNN", "PixelRNN-diagonal"])
@pytest.mark.parametrize("settings", [{"temperature": 0}, {}, {"top_p": 0.8}])
def test_image_models_row_cached_sampling_gives_the_naive_images(settings, cls):
    model = _pixelcnn((6, 5), n_levels=3, cls=cls)
    a = model.sample(5, random_state=4, **settings)
    b = model.sample(5, random_state=4, use_cache=False, **settings)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (5, 30) and set(np.unique(a)) <= {0.0, 1.0, 2.0}
    X = np.random.RandomState(1).randint(0, 3, size=(3, 30)).astype(float)
    c = model.inpaint(X, 2, random_state=0, **settings)
    np.testing.assert_array_equal(c[:, :10], X[:, :10])
    np.testing.assert_array_equal(
        c, model.inpaint(X, 2, random_state=0, use_cache=False, **settings)
    )


def test_pixelrnn_row_lstm_sees_its_neighbours_before_it_and_nothing_later():
    """Row LSTM: pixel (i, j) depends on no pixel at or after it, and on its neighbours
    before it, (i, j - 1) and (i - 1, j - 1 .. j + 1) (through the first, mask-A
    convolution), last column included."""
    h, w = 5, 6
    net = _pixelcnn((h, w), n_layers=2, cls="PixelRNN").module_.eval()
    for p in range(h * w):
        i, j = divmod(p, w)
        seen = _depends_on(net, (h * w,), p, uniform=True)
        assert not seen[p:].any(), (i, j)
        near = [(i, j - 1)] + [(i - 1, c) for c in (j - 1, j, j + 1)]
        for r, c in near:
            if 0 <= r and 0 <= c < w:
                assert seen[r * w + c], ((i, j), (r, c))


def test_skew_and_unskew():
    from genmodels.autoregressive._diagonal_net import skew, unskew

    x = torch.randn(2, 3, 4, 5)
    s = skew(x)
    assert s.shape == (2, 3, 4, 8)
    for i in range(4):  # row i shifted right by i, zeros around it
        assert torch.equal(s[:, :, i, i : i + 5], x[:, :, i])
        assert not s[:, :, i, :i].any() and not s[:, :, i, i + 5 :].any()
    assert torch.equal(unskew(s, 5), x)


@pytest.mark.parametrize("n_layers, kernel_size", [(1, 3), (2, 3), (2, 5)])
@pytest.mark.parametrize("shape", [(4, 5), (5, 3), (3, 7)])
def test_pixelrnn_diagonal_bilstm_sees_every_pixel_before_it_but_one(shape, n_layers, kernel_size):
    """The Diagonal BiLSTM's receptive field, exactly: pixel (i, j) depends on nothing at or
    after it, and on every pixel before it (the far right of the rows above too, through
    the right-to-left direction shifted down one row: (i - 1, j + 1), (i - 2, W - 1) ...)
    but one: the last pixel of the row above, (i - 1, W - 1), unless the first convolution
    reaches it (j >= W - 1 - k // 2). That pixel is in no map at row i - 1 (a causal map's
    position (i - 1, W - 1) sees only the pixels before it) and row i's left-to-right
    direction runs away from it: the paper's design, at any depth."""
    h, w = shape
    net = _pixelcnn(
        shape, n_layers=n_layers, kernel_size=kernel_size, cls="PixelRNN-diagonal"
    ).module_.eval()
    for p in range(h * w):
        i, j = divmod(p, w)
        blind = (i - 1) * w + w - 1 if i > 0 and j < w - 1 - kernel_size // 2 else None
        seen = _depends_on(net, (h * w,), p, uniform=True)
        assert seen.tolist() == [q < p and q != blind for q in range(h * w)], (i, j)


def test_pixelrnn_row_lstm_field_is_a_triangle_where_the_diagonal_one_is_whole():
    """What tells the two apart: with one layer (and the 3 x 3 first convolution), the Row
    LSTM's pixel (2, 0) misses the right of row 0; the Diagonal BiLSTM's sees it."""
    h, w = 3, 7
    p, far = 2 * w, 5  # pixel (2, 0); pixel (0, 5)
    row = _pixelcnn((h, w), n_layers=1, cls="PixelRNN").module_.eval()
    diagonal = _pixelcnn((h, w), n_layers=1, cls="PixelRNN-diagonal").module_.eval()
    assert not _depends_on(row, (h * w,), p, uniform=True)[far]
    assert _depends_on(diagonal, (h * w,), p, uniform=True)[far]


def test_pixelrnn_diagonal_cache_gives_the_full_pass_logits():
    """prefill at any point, then step, against forward's logits of the whole image."""
    net = _pixelcnn((4, 5), n_levels=3, n_layers=2, cls="PixelRNN-diagonal").module_.eval()
    g = torch.Generator().manual_seed(0)
    tokens = torch.cat([torch.full((3, 1), 3), torch.randint(0, 3, (3, 20), generator=g)], 1)
    with torch.no_grad():
        full = net(tokens)
        for start in (1, 4, 5, 12):
            logits, cache = net.prefill(tokens[:, :start])
            torch.testing.assert_close(logits, full[:, start - 1], atol=1e-5, rtol=0)
            for q in range(start, 20):
                logits, cache = net.step(tokens[:, q], cache)
                torch.testing.assert_close(logits, full[:, q], atol=1e-5, rtol=0)


def test_pixelrnn_diagonal_learns_digits_and_round_trips_a_model_file(tmp_path):
    from sklearn.datasets import load_digits

    from genmodels import PixelRNN

    X = (load_digits().data > 7).astype(float)
    model = PixelRNN(2, 16, layer="diagonal", head_channels=32, epochs=4, lr=3e-3, random_state=0)
    model.fit(X[:1000])
    loss = model.history_["loss"]
    assert loss[-1] < loss[0]
    held_out = -model.score_samples(X[1200:]).mean()
    assert held_out < 0.6 * 64 * math.log(2)  # well below 1 bit a pixel (a coin flip)
    path = tmp_path / "prnn.safetensors"
    model.save(path)
    again = genmodels.load(path)
    assert again.layer == "diagonal" and type(again.module_) is type(model.module_)
    np.testing.assert_allclose(again.score_samples(X[1200:1250]), model.score_samples(X[1200:1250]))
    np.testing.assert_array_equal(again.sample(3, random_state=1), model.sample(3, random_state=1))
    with pytest.raises(ValueError, match="layer"):
        PixelRNN(layer="diag", epochs=1).fit(X[:10])


def test_pixelcnn_learns_digits_and_refuses_bad_pixels():
    from sklearn.datasets import load_digits

    from genmodels import PixelCNN

    X = (load_digits().data > 7).astype(float)
    model = PixelCNN(3, 16, kernel_size=3, epochs=3, random_state=0).fit(X[:1200])
    assert model.image_shape_ == (8, 8)
    held_out = -model.score_samples(X[1200:]).mean()
    assert held_out < 0.6 * 64 * math.log(2)  # well below 1 bit a pixel (a coin flip)
    assert model.bits_per_token(X[1200:]) == pytest.approx(held_out / 64 / math.log(2))
    with pytest.raises(ValueError, match="integer levels 0..1"):
        model.score_samples(X[:2] * 0.5)
    with pytest.raises(ValueError, match="n_rows"):
        model.inpaint(X[:2], 8)
    with pytest.raises(ValueError, match="image_shape"):
        PixelCNN(epochs=1).fit(np.zeros((4, 10)))


def test_command_line_inpaints_the_lower_rows_of_a_png(tmp_path, capsys):
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt
    from sklearn.datasets import load_digits

    from genmodels import PixelCNN
    from genmodels.cli.main import main

    X = (load_digits().data > 7).astype(float)
    model = PixelCNN(2, 8, kernel_size=3, epochs=1, random_state=0).fit(X[:300])
    path = tmp_path / "pcnn.safetensors"
    model.save(path)
    digit = X[400].reshape(8, 8)
    plt.imsave(tmp_path / "partial.png", digit, cmap="gray", vmin=0, vmax=1)
    out = tmp_path / "inpainted.png"
    argv = [
        "complete", str(path), "--image", str(tmp_path / "partial.png"),
        "--keep-rows", "5", "--samples", "3", "--seed", "0", "-o", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    assert "kept 5 of 8 rows" in capsys.readouterr().out
    strip = mpimg.imread(out)[::4, ::4, 0]  # 4x4 pixels each; grey: R = G = B
    tiles = [strip[:, i * 9 : i * 9 + 8] for i in range(4)]
    np.testing.assert_allclose(tiles[0][5:], 0.5, atol=0.01)  # the rows drawn afresh
    for tile in tiles[1:]:  # every completion keeps the given rows and draws 0/1 pixels
        np.testing.assert_allclose(tile[:5], digit[:5], atol=0.01)
        assert set(np.round(tile[5:], 2).ravel()) <= {0.0, 1.0}
    assert main([*argv[:-1], str(tmp_path / "x.jpg")]) == 1
    assert ".png" in capsys.readouterr().err
    plt.imsave(tmp_path / "big.png", np.zeros((9, 8)), cmap="gray")
    assert main(["complete", str(path), "--image", str(tmp_path / "big.png")]) == 1
    assert "8x8" in capsys.readouterr().err
    assert main(["complete", str(path), "ab", "--image", str(tmp_path / "big.png")]) == 1
    assert "not both" in capsys.readouterr().err


def test_lists_of_equal_length_sequences_and_2d_arrays_are_sequences_of_ids():
    """A frame of a token model is one id, so a list of 1-D sequences (equal lengths
    included, as one sequence alone) and an (n_sequences, length) array are sequences, not
    rows of many features; all layouts score alike."""
    rng = np.random.RandomState(0)
    seqs = rng.randint(0, 5, (3, 12))
    model = Transformer(1, 1, 8, block_size=8, epochs=1, random_state=0).fit(list(seqs))
    frames = seqs.reshape(-1, 1)
    by_frames = model.score_samples(frames, [12, 12, 12])
    np.testing.assert_allclose(model.score_samples(seqs), by_frames)
    np.testing.assert_allclose(model.score_samples(list(seqs)), by_frames)
    np.testing.assert_allclose(model.score_samples([seqs[1]]), by_frames[1:2])
