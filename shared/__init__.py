"""Runtime pieces every service shares: settings, broker, memory, inference, embeddings, domains."""
