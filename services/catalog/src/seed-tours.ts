import type { TourDraft } from "./tours.js";

interface TourTemplate {
  slug: string;
  title: string;
  description: string;
  priceEuros: number;
  capacity: number;
  durationMinutes: number;
}

const templatesByDestination: Record<string, TourTemplate[]> = {
  Paris: [
    {
      slug: "louvre",
      title: "Louvre Highlights",
      description: "The Mona Lisa, Winged Victory and the crown jewels in one guided morning.",
      priceEuros: 69,
      capacity: 20,
      durationMinutes: 180,
    },
    {
      slug: "montmartre",
      title: "Montmartre Walk",
      description: "Artists' squares, hidden vineyards and the Sacré-Cœur at golden hour.",
      priceEuros: 35,
      capacity: 15,
      durationMinutes: 120,
    },
    {
      slug: "seine-cruise",
      title: "Seine Evening Cruise",
      description: "The city's bridges lit up from the river.",
      priceEuros: 45,
      capacity: 60,
      durationMinutes: 90,
    },
    {
      slug: "versailles",
      title: "Versailles Day Trip",
      description: "The palace, the Hall of Mirrors and the gardens.",
      priceEuros: 119,
      capacity: 30,
      durationMinutes: 480,
    },
    {
      slug: "food-marais",
      title: "Le Marais Food Tour",
      description: "Cheese, falafel and pastries in the old Jewish quarter.",
      priceEuros: 89,
      capacity: 12,
      durationMinutes: 180,
    },
    {
      slug: "catacombs",
      title: "Catacombs After Dark",
      description: "The ossuary tunnels beneath Denfert-Rochereau.",
      priceEuros: 79,
      capacity: 10,
      durationMinutes: 120,
    },
  ],
  Rome: [
    {
      slug: "colosseum",
      title: "Colosseum Underground",
      description: "The arena floor and the hypogeum where gladiators waited.",
      priceEuros: 95,
      capacity: 20,
      durationMinutes: 180,
    },
    {
      slug: "vatican",
      title: "Vatican Museums Early Entry",
      description: "The Sistine Chapel before the crowds.",
      priceEuros: 99,
      capacity: 25,
      durationMinutes: 210,
    },
    {
      slug: "trastevere",
      title: "Trastevere Evening Food Walk",
      description: "Supplì, cacio e pepe and gelato across the river.",
      priceEuros: 79,
      capacity: 12,
      durationMinutes: 180,
    },
    {
      slug: "appian-bike",
      title: "Appian Way by Bike",
      description: "Aqueducts and catacombs along the old road.",
      priceEuros: 65,
      capacity: 14,
      durationMinutes: 240,
    },
    {
      slug: "fountains",
      title: "Fountains and Piazzas",
      description: "Trevi, Navona and the Pantheon on foot.",
      priceEuros: 29,
      capacity: 25,
      durationMinutes: 150,
    },
    {
      slug: "ostia",
      title: "Ostia Antica Half Day",
      description: "Rome's ancient harbour town, remarkably preserved.",
      priceEuros: 59,
      capacity: 20,
      durationMinutes: 300,
    },
  ],
  Barcelona: [
    {
      slug: "sagrada",
      title: "Sagrada Família Guided",
      description: "Gaudí's basilica, inside and up a tower.",
      priceEuros: 75,
      capacity: 25,
      durationMinutes: 120,
    },
    {
      slug: "gothic",
      title: "Gothic Quarter Stories",
      description: "Roman walls, medieval lanes and their legends.",
      priceEuros: 25,
      capacity: 20,
      durationMinutes: 120,
    },
    {
      slug: "tapas",
      title: "Tapas and Vermouth Crawl",
      description: "Four bars, eight tapas, one vermouth too many.",
      priceEuros: 85,
      capacity: 12,
      durationMinutes: 180,
    },
    {
      slug: "montserrat",
      title: "Montserrat Monastery",
      description: "The mountain abbey and its boys' choir.",
      priceEuros: 69,
      capacity: 30,
      durationMinutes: 420,
    },
    {
      slug: "park-guell",
      title: "Park Güell Morning",
      description: "Mosaics and city views before the heat.",
      priceEuros: 39,
      capacity: 20,
      durationMinutes: 90,
    },
    {
      slug: "sailing",
      title: "Sunset Sailing",
      description: "Two hours on the Mediterranean with cava.",
      priceEuros: 99,
      capacity: 10,
      durationMinutes: 120,
    },
  ],
  Lisbon: [
    {
      slug: "alfama",
      title: "Alfama and Fado",
      description: "The old quarter by day and a fado house by night.",
      priceEuros: 55,
      capacity: 15,
      durationMinutes: 240,
    },
    {
      slug: "belem",
      title: "Belém Monuments",
      description: "The tower, the monastery and the custard tarts.",
      priceEuros: 45,
      capacity: 20,
      durationMinutes: 180,
    },
    {
      slug: "sintra",
      title: "Sintra Palaces",
      description: "Pena Palace and Quinta da Regaleira in a day.",
      priceEuros: 89,
      capacity: 16,
      durationMinutes: 480,
    },
    {
      slug: "tram-28",
      title: "Tram 28 Ride and Walk",
      description: "The classic tram line and the viewpoints along it.",
      priceEuros: 25,
      capacity: 20,
      durationMinutes: 120,
    },
    {
      slug: "street-art",
      title: "Street Art Tour",
      description: "Murals of Graça and Mouraria with a local artist.",
      priceEuros: 30,
      capacity: 15,
      durationMinutes: 150,
    },
    {
      slug: "port-wine",
      title: "Wine and Petiscos",
      description: "Portuguese wines with small plates.",
      priceEuros: 65,
      capacity: 12,
      durationMinutes: 150,
    },
  ],
  Berlin: [
    {
      slug: "wall",
      title: "Berlin Wall Trail",
      description: "From Bernauer Straße to Checkpoint Charlie.",
      priceEuros: 25,
      capacity: 25,
      durationMinutes: 180,
    },
    {
      slug: "museum-island",
      title: "Museum Island Pass",
      description: "The Pergamon panorama and the Neues Museum.",
      priceEuros: 49,
      capacity: 20,
      durationMinutes: 240,
    },
    {
      slug: "cold-war-bunker",
      title: "Cold War Bunker",
      description: "Underground shelters of a divided city.",
      priceEuros: 35,
      capacity: 15,
      durationMinutes: 120,
    },
    {
      slug: "kreuzberg-food",
      title: "Kreuzberg Food Walk",
      description: "Döner, currywurst and the Markthalle.",
      priceEuros: 69,
      capacity: 12,
      durationMinutes: 180,
    },
    {
      slug: "potsdam",
      title: "Potsdam Palaces",
      description: "Sanssouci and the gardens of Frederick the Great.",
      priceEuros: 59,
      capacity: 30,
      durationMinutes: 360,
    },
    {
      slug: "reichstag",
      title: "Reichstag Dome at Dusk",
      description: "Parliament's glass dome and the government quarter.",
      priceEuros: 19,
      capacity: 30,
      durationMinutes: 90,
    },
  ],
  Amsterdam: [
    {
      slug: "canals",
      title: "Canal Cruise",
      description: "The UNESCO canal ring by boat.",
      priceEuros: 25,
      capacity: 40,
      durationMinutes: 75,
    },
    {
      slug: "rijksmuseum",
      title: "Rijksmuseum Masters",
      description: "Rembrandt's Night Watch and Vermeer with an art historian.",
      priceEuros: 65,
      capacity: 15,
      durationMinutes: 150,
    },
    {
      slug: "jordaan",
      title: "Jordaan Walk",
      description: "Hofjes, brown cafés and the Anne Frank House outside.",
      priceEuros: 29,
      capacity: 20,
      durationMinutes: 120,
    },
    {
      slug: "bike",
      title: "City by Bike",
      description: "Ride like a local, through Vondelpark and beyond.",
      priceEuros: 39,
      capacity: 14,
      durationMinutes: 180,
    },
    {
      slug: "windmills",
      title: "Zaanse Schans Windmills",
      description: "Working windmills and clog makers.",
      priceEuros: 55,
      capacity: 30,
      durationMinutes: 300,
    },
    {
      slug: "cheese",
      title: "Cheese and Beer Tasting",
      description: "Gouda, Edam and local brews.",
      priceEuros: 49,
      capacity: 12,
      durationMinutes: 120,
    },
  ],
};

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The demo catalog: 36 tours in 6 cities, run by no operator, starting over the coming weeks from `now` (each tour at 09:00 or
 * 18:00 UTC, spread so that some start within a day, for reminders).
 */
export function seedTours(now: Date): TourDraft[] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Object.entries(templatesByDestination).flatMap(([destination, templates], cityIndex) =>
    templates.map((template, index) => {
      const dayOffset = 1 + ((cityIndex * 7 + index * 5) % 45);
      const hour = index % 2 === 0 ? 9 : 18;
      return {
        tourId: `tour_${destination.toLowerCase()}_${template.slug}`,
        title: template.title,
        description: template.description,
        destination,
        startTime: new Date(today + dayOffset * DAY_MS + hour * 60 * 60 * 1000),
        durationMinutes: template.durationMinutes,
        price: { currencyCode: "EUR", minorUnits: template.priceEuros * 100 },
        capacity: template.capacity,
      };
    }),
  );
}
