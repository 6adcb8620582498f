"""Mail: `compose` (digests and alerts from templates), `subscriptions` (subscribe, unsubscribe),
`queue` (what is due, previews, sending), `delivery` (draining the outbox, retries),
`transport` (SMTP or a maildir), `smtpurl` (the SMTP setting)."""
