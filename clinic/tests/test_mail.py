"""clinic.mail.deliver_once: a mail is handed to the server once per key, whatever how many times a job runs.

The ledger (`SentMail`) row and the send share one transaction: a second
call with the key sends nothing, a send that fails leaves no row (so the
job's retry sends it), and two calls with one key at once send once, the
second waiting on the first's row. The last two use real SMTP servers on
127.0.0.1 (config/testing/mail.py).
"""

import smtplib

import pytest
from django.core.mail import EmailMessage

from clinic.mail import deliver_once
from clinic.models import SentMail
from config.testing.mail import SmtpServer
from config.testing.servers import free_port
from config.testing.threads import run_together


def message(to: str = "ana@example.com") -> EmailMessage:
    return EmailMessage(subject="Booking confirmed", body="See you soon.", from_email="clinic@example.com", to=[to])


def smtp_to(settings, port: int) -> None:
    """Mail goes to a real SMTP server at 127.0.0.1:`port`, as the worker's does."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


@pytest.mark.django_db
def test_a_key_is_sent_once_and_a_second_call_sends_nothing(mailoutbox):
    # when
    first = deliver_once("booking_confirmed:1:job-7", message())
    again = deliver_once("booking_confirmed:1:job-7", message())
    other = deliver_once("booking_confirmed:1:job-8", message())

    # then
    assert (first, again, other) == (True, False, True)
    assert len(mailoutbox) == 2
    assert sorted(SentMail.objects.values_list("key", flat=True)) == [
        "booking_confirmed:1:job-7",
        "booking_confirmed:1:job-8",
    ]


@pytest.mark.django_db
def test_the_ledger_keeps_only_the_key_and_the_time(mailoutbox):
    deliver_once("booking_confirmed:1:job-7", message("private.person@example.com"))

    row = SentMail.objects.values().get()
    assert set(row) == {"id", "key", "sent_at"}
    assert "private.person" not in str(row)


@pytest.mark.django_db
def test_a_refused_send_raises_and_leaves_no_row_so_the_retry_sends_it(settings):
    # given: a real server that refuses the first message with 451, then takes mail
    with SmtpServer(refuse=1) as server:
        smtp_to(settings, server.port)

        # when: the first try is refused
        with pytest.raises(smtplib.SMTPDataError):
            deliver_once("booking_confirmed:1:job-7", message())

        # then: no ledger row; the retry (same key) sends it
        assert not SentMail.objects.exists()
        assert deliver_once("booking_confirmed:1:job-7", message()) is True
        assert deliver_once("booking_confirmed:1:job-7", message()) is False

    assert (server.refused, len(server.delivered)) == (1, 1)
    assert SentMail.objects.count() == 1


@pytest.mark.django_db
def test_no_server_at_all_raises_and_leaves_no_row(settings):
    # given: nothing listens on the port
    smtp_to(settings, free_port())

    # when / then
    with pytest.raises(ConnectionRefusedError):
        deliver_once("booking_confirmed:1:job-7", message())
    assert not SentMail.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_calls_with_one_key_at_once_send_once(settings):
    # given: a server that holds the first message in DATA, so its sender's transaction stays open
    with SmtpServer(hold=1) as server:
        smtp_to(settings, server.port)

        def release_soon():
            server.wait_until(lambda: server.held == 1, within=10, what="the first message held")
            server.release()
            return "released"

        # when: two senders with the same key (two runs of one job), each on its own connection
        results = run_together(
            [
                lambda: deliver_once("booking_confirmed:1:job-7", message()),
                lambda: deliver_once("booking_confirmed:1:job-7", message()),
                release_soon,
            ]
        )

    # then: one sent, the other waited for its row and sent nothing
    assert sorted(results[:2]) == [False, True]
    assert (server.arrived, len(server.delivered)) == (1, 1)
    assert list(SentMail.objects.values_list("key", flat=True)) == ["booking_confirmed:1:job-7"]
