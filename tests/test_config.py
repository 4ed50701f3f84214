import pytest

from softnodule.config import PROFILES, get_profile


def test_env_overrides_parameter(monkeypatch):
    monkeypatch.setenv("SOFTNODULE_PROFILE", "smoke")
    assert get_profile("paper").name == "smoke"


def test_parameter_used_without_env(monkeypatch):
    monkeypatch.delenv("SOFTNODULE_PROFILE", raising=False)
    assert get_profile("paper").name == "paper"
    assert get_profile().name == "quick"


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("SOFTNODULE_PROFILE", raising=False)
    with pytest.raises(ValueError, match="smoke, quick, paper"):
        get_profile("fast")


def test_paper_profile_has_paper_sizes():
    p = PROFILES["paper"]
    assert p.lnsm_split == (1000, 100, 400) and p.lidc_split == (387, 55, 544)
    assert p.crop == 64 and p.sr_factor == 4
    assert p.d_width == 64  # pix2pix's pixel discriminator


def test_segmenter_config_takes_the_profiles_discriminator_width():
    from softnodule.train.segmentation import SegConfig

    for name, profile in PROFILES.items():
        cfg = SegConfig.for_profile("dsnet", profile)
        assert (cfg.d_width, cfg.width, cfg.patience) == (profile.d_width, profile.width, profile.patience), name
    assert PROFILES["quick"].d_width < PROFILES["paper"].d_width
