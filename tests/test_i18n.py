"""Every user-facing message exists in English and Russian, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from helpers.core import i18n


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_english_message_has_a_russian_translation():
    assert i18n.missing_keys("ru") == []


@pytest.mark.parametrize("key", sorted(i18n.catalogue("en")))
def test_translations_use_the_same_placeholders(key):
    russian = i18n.catalogue("ru").get(key)
    if russian is not None:
        assert _placeholders(russian) == _placeholders(i18n.catalogue("en")[key]), key


def test_language_switch_and_fallback():
    with i18n.language("ru"):
        assert i18n.t("common.severity.error") == "ошибка"
    assert i18n.t("common.severity.error") == "error"
    assert i18n.set_language("de") == "en"
    assert i18n.t("no.such.key", "ru") == "no.such.key"
