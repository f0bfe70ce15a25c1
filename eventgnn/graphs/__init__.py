"""Events -> fully connected PyG graphs (features, vectorised batches, datasets)."""
