# Worker image for docker-compose.yml: the runtime programs of the program list in ./exhibit
# (Debian Chromium, ffmpeg, fonts for Arabic and emoji, …), the one list ./exhibit installs from too.
FROM node:20-bookworm-slim
WORKDIR /opt/exhibit
COPY exhibit ./
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git redis-tools \
      $(sed -n "/^read -r -d '' PROGRAMS_TSV/,/^TSV$/p" exhibit | awk -F'\t' '!/^#/ && $2 == "runtime" && $3 != "-" { print $3 }') \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm install --no-save tsx@4
COPY . .
USER node
