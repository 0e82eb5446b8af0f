# Worker image for docker-compose.yml: Debian Chromium, ffmpeg, libheif tools (HEIC decoding), zstd, fonts for Arabic and emoji.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium ffmpeg libheif-examples zstd fonts-noto-core fonts-noto-color-emoji redis-tools ca-certificates git \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/exhibit
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm install --no-save tsx@4
COPY . .
USER node
