"""Settings of the live demo, from ``SP_DEMO_<FIELD>`` variables, then command-line flags.

The demo shortens the engine's windows so effects show within minutes: it sets
``SP_TRIGGERS_ABANDON_WINDOW_MS`` for the job and the simulator from ``abandon_window_ms``,
and switches quiet hours off (``quiet_hours``) so e-mail goes out at any time of day. Every
other ``SP_TRIGGERS_*``, ``SP_JOB_*`` or service variable in the environment is passed on.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from udfs.envconfig import env_field, from_env

PREFIX = "SP_DEMO"
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DemoConfig:
    """Every setting of the demo orchestrator; env variables ``SP_DEMO_<FIELD>``."""

    duration: float = env_field(0.0, "Seconds to run once everything is up (0: until Ctrl-C).")
    state_dir: str = env_field(str(ROOT / ".state" / "demo"), "Logs, received mail and ground truth.")
    summary_s: float = env_field(5.0, "Seconds between two summary lines.")
    start_timeout_s: float = env_field(240.0, "Longest wait for one child to be ready.")
    abandon_window_ms: int = env_field(60_000, "Cart inactivity before abandoned_cart (the engine's window).")
    quiet_hours: bool = env_field(False, "Keep the engine's quiet hours (outbound dropped at night).")
    job_group_id: str = env_field("shoppulse-demo", "Consumer group of the job's Kafka sources.")
    collector_port: int = env_field(8088, "Collector HTTP port.")
    storefront_port: int = env_field(8090, "Storefront HTTP port.")
    smtp_port: int = env_field(2525, "Port of the local SMTP sink the e-mail sender delivers to.")
    webhook_port: int = env_field(8099, "Port of the local webhook receiver the push sender posts to.")
    push: bool = env_field(True, "Run the webhook sender and the local receiver it posts to.")
    simulator: bool = env_field(True, "Run the shopper simulator (off: only what you click in the shop).")
    sim_rate: float = env_field(3.0, "Simulator events per second (long-run rate).")
    sim_seed: int = env_field(7, "Simulator seed.")
    auto_consent: bool = env_field(
        True, "Record e-mail, push and personalization consent for every signed-in shopper seen on the "
              "events topic, so the outbound channels have someone to reach (demo data only).")
    active_window_s: float = env_field(120.0, "A session counts as active with an event this recent.")

    def __post_init__(self) -> None:
        if self.duration < 0 or self.summary_s <= 0 or self.start_timeout_s <= 0:
            raise ValueError(f"{PREFIX}_DURATION must be >= 0, SUMMARY_S and START_TIMEOUT_S > 0")
        if self.abandon_window_ms <= 0 or self.sim_rate <= 0:
            raise ValueError(f"{PREFIX}_ABANDON_WINDOW_MS and {PREFIX}_SIM_RATE must be positive")

    @property
    def state(self) -> Path:
        return Path(self.state_dir)

    @property
    def mail_dir(self) -> Path:
        return self.state / "mail"


def load(**overrides: Any) -> DemoConfig:
    """Defaults, then ``SP_DEMO_*`` variables, then keyword overrides (None values ignored)."""
    return from_env(DemoConfig, PREFIX, **{k: v for k, v in overrides.items() if v is not None})
