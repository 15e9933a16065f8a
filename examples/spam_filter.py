"""A spam filter on the SMS Spam Collection with genmodels' naive Bayes.

Stratified 80/20 split (seed 0), scikit-learn's CountVectorizer for the bag of words, sparse
end to end (the document-term matrix is never densified). Prints accuracy, spam precision
and recall and ROC AUC for genmodels' MultinomialNB, ComplementNB and BernoulliNB next to
scikit-learn's classes of the same names on the same features, the held-out log-likelihood
of the generative model, the words that most separate the classes, and "typical spam" and
"typical ham" bags of words drawn from the fitted model.

Data come from $GENMODELS_DATASETS (default ../shared/datasets). Run:

    .venv/bin/python examples/spam_filter.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import sklearn.naive_bayes as skn
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import accuracy_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import train_test_split

import genmodels

ROOT = Path(
    os.environ.get("GENMODELS_DATASETS", Path(__file__).parents[1] / ".." / "shared" / "datasets")
)
MODELS = [("MultinomialNB", {"alpha": 0.1}), ("ComplementNB", {"alpha": 0.1}), ("BernoulliNB", {})]


def load_sms() -> tuple[list[str], np.ndarray]:
    path = ROOT / "sms_spam_collection" / "SMSSpamCollection"
    labels, texts = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        label, _, text = line.partition("\t")  # no CSV quoting: quotes are message text
        labels.append(label)
        texts.append(text)
    return texts, np.array(labels)


def evaluate(model, X_te, y_te) -> list[float]:
    """Accuracy, spam precision, spam recall, ROC AUC (ranked by the log-odds, which do not
    saturate the way probabilities rounded to 1.0 do)."""
    jll = model.predict_joint_log_proba(X_te)
    spam_col = list(model.classes_).index("spam")
    log_odds = jll[:, spam_col] - jll[:, 1 - spam_col]
    pred = model.predict(X_te)
    spam = y_te == "spam"
    return [
        accuracy_score(y_te, pred),
        precision_score(spam, pred == "spam"),
        recall_score(spam, pred == "spam"),
        roc_auc_score(spam, log_odds),
    ]


def main() -> int:
    if not (ROOT / "sms_spam_collection").is_dir():
        print(
            f"SMS Spam Collection not found under {ROOT}: set GENMODELS_DATASETS", file=sys.stderr
        )
        return 1
    texts, y = load_sms()
    tr_text, te_text, y_tr, y_te = train_test_split(
        texts, y, test_size=0.2, stratify=y, random_state=0
    )
    # Words, numbers and the currency/exclamation marks that spam is full of.
    vec = CountVectorizer(lowercase=True, token_pattern=r"(?u)\b\w+\b|[£$!]")
    X_tr = vec.fit_transform(tr_text)  # scipy CSR
    X_te = vec.transform(te_text)
    print(
        f"SMS Spam Collection: {len(texts)} messages ({np.mean(y == 'spam'):.1%} spam), "
        f"train {X_tr.shape[0]} / test {X_te.shape[0]}, vocabulary {X_tr.shape[1]} tokens\n"
    )

    print("| model | library | accuracy | spam precision | spam recall | ROC AUC |")
    print("|---|---|---|---|---|---|")
    fitted = {}
    for name, opts in MODELS:
        ours = getattr(genmodels, name)(**opts).fit(X_tr, y_tr)
        theirs = getattr(skn, name)(**opts).fit(X_tr, y_tr)
        fitted[name] = ours
        shown = ", ".join(f"{k}={v}" for k, v in opts.items())
        for lib, model in (("genmodels", ours), ("scikit-learn", theirs)):
            vals = evaluate(model, X_te, y_te)
            print(f"| {name}({shown}) | {lib} | " + " | ".join(f"{v:.4f}" for v in vals) + " |")

    mnb = fitted["MultinomialNB"]
    ll = mnb.score_samples(X_te)
    per_class = {c: mnb.score(X_te[y_te == c], y_te[y_te == c]) for c in ("ham", "spam")}
    print(
        f"\nMultinomialNB as a density: held-out log p(x | length) = {ll.mean():.2f} nats per "
        f"message; log p(x, y) = {per_class['ham']:.2f} (ham), {per_class['spam']:.2f} (spam)"
    )

    vocab = np.array(vec.get_feature_names_out())
    ham, spam = (list(mnb.classes_).index(c) for c in ("ham", "spam"))
    ratio = mnb.feature_log_prob_[spam] - mnb.feature_log_prob_[ham]
    print("\nwords most indicative of spam:", " ".join(vocab[np.argsort(-ratio)[:15]]))
    print("words most indicative of ham: ", " ".join(vocab[np.argsort(ratio)[:15]]))

    print("\nBags of words drawn from the fitted model (order within a bag is arbitrary):")
    shuffle = np.random.RandomState(0)
    for label in ("spam", "ham"):
        X_gen = mnb.sample(4, y=label, random_state=1)  # totals drawn from training lengths
        print(f"typical {label}, x ~ p(x | {label}):")
        for row in X_gen:
            idx = np.flatnonzero(row)
            words = np.repeat(vocab[idx], row[idx].astype(int))
            shuffle.shuffle(words)
            print("  - " + " ".join(words))
    return 0


if __name__ == "__main__":
    sys.exit(main())
